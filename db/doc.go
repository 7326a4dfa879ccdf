// Package db is Strata's public API: an embedded, ordered key-value store for Go programs, with
// leveldb's semantics and leveldb 1.23's on-disk format. A directory written by C++ leveldb
// opens here, and one written here opens there; docs/goleveldb.md says how to move from
// goleveldb.
//
// # Opening
//
// Open opens the DB in a directory, creating it unless Options.ErrorIfMissing is set; nil
// options mean leveldb's defaults. Close it when done: Close waits for background work and
// releases the directory's lock. A directory is open in one DB at a time, in this process or
// any other (C++ leveldb included): a second Open fails with an error matching ErrLocked.
//
//	d, err := db.Open("/var/lib/app/db", nil)
//	if err != nil {
//		return err
//	}
//	defer d.Close()
//
// Options size the memtable (WriteBufferSize), the block cache (BlockCacheSize), tables and
// blocks, choose compression and bloom filters, and set the key order (Comparator). A DB keeps
// the Comparator it was created with; opening it with another fails.
//
// # Writing
//
// Put sets a key, Delete removes one (deleting an absent key is not an error), and Write applies
// a Batch: several puts and deletes applied atomically, in order. Keys and values are byte
// slices of any length; the DB copies them, so the caller may reuse them once the call returns.
//
//	var b db.Batch
//	b.Put([]byte("alice"), []byte("10"))
//	b.Delete([]byte("bob"))
//	err := d.Write(&b, nil)
//
// # Reading
//
// Get returns a key's value, a slice the caller owns, or an error matching ErrNotFound. Has
// reports whether a key is present without copying its value. GetMany and HasMany look up a
// whole batch of keys at one moment, visiting each table and block once for the batch.
//
// NewIterator walks keys in order, forwards (First, Seek, Next) or backwards (Last, SeekLT,
// Prev); each positioning call returns whether the iterator is on a key, and Key and Value
// return nil when it is not. ReadOptions.LowerBound and UpperBound limit it to [Lower, Upper),
// which also makes it skip tables and blocks outside the range; a prefix scan is a pair of
// bounds (see the examples). Iterator.All ranges over the keys for a range loop. An iterator
// sees the DB as of its creation, whatever is written after; check Error (or Close's result)
// after the loop, since damaged data stops an iterator early. Close every iterator: it holds
// the files it reads.
//
//	it := d.NewIterator(&db.ReadOptions{LowerBound: []byte("a"), UpperBound: []byte("b")})
//	for k, v := range it.All() {
//		fmt.Printf("%s=%s\n", k, v)
//	}
//	if err := it.Close(); err != nil {
//		return err
//	}
//
// # Snapshots
//
// NewSnapshot fixes the DB's current state; reads with ReadOptions.Snapshot see that state and
// nothing written later. Release a snapshot when done: while it lives, compaction keeps the
// old versions it can see.
//
// # Errors
//
// Errors are matched with errors.Is against the sentinels: ErrNotFound (Get of an absent key),
// ErrClosed (any call after Close), ErrCorruption (damaged data: a failed checksum, a missing
// table), ErrInvalidArgument (a call or options that do not fit, such as another comparator)
// and ErrLocked (the directory is in use). Messages start with "strata: " and say what happened
// to which file, with the byte offset of damage; Open with ErrorIfMissing on a missing DB also
// matches fs.ErrNotExist. After an I/O error writing the log or the MANIFEST, the DB refuses
// further writes rather than carry on from a state it cannot vouch for; reads go on.
//
// A DB whose CURRENT or MANIFEST is lost or damaged does not open; Repair (or RepairWithReport,
// which says what could not be saved) rebuilds it from the tables and logs left.
//
// # Durability
//
// A write with WriteOptions.Sync is on stable storage when it returns. Without Sync it is in
// the operating system's page cache when it returns (the log is written through a shared
// memory mapping, or with write(2) where mapping is unavailable), so it survives the process
// being killed but not a machine crash. A batch is applied whole or not at all, also across a
// crash. Writes from many goroutines are committed in groups, so one fsync covers every synced
// write of a group.
//
// # Concurrency
//
// Every method of DB is safe for concurrent use by many goroutines, and reads do not take the
// lock that writes take. An Iterator belongs to one goroutine; a Batch must not be changed
// while Write uses it. A Snapshot may be used by many goroutines at once, and released once.
//
// # Compatibility
//
// The files are leveldb 1.23's, byte for byte: tables (.ldb, and .sst read), logs, MANIFEST,
// CURRENT, and the LOCK file locked as C++ leveldb locks it. docs/differences.md lists where
// Strata behaves differently, and the command sstdump prints and checks the files of any
// leveldb directory. Notes for contributors (how the package is built, its invariants) are in
// docs/architecture.md.
package db
