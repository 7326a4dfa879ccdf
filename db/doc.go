// Package db is Strata's public API: an embedded, ordered key-value store with leveldb's
// semantics and leveldb 1.23's on-disk format.
//
// The write path (write.go): Put, Delete and Write join a queue; the writer at the head leads a
// group, appends the group as one WriteBatch record to the log (one write(2), fsynced when any
// member asked for Sync), applies it to the memtable, publishes its sequence numbers and wakes
// the others. A full memtable becomes immutable and a background goroutine flushes it to a
// level-0 table (flush.go), recording the change in the MANIFEST.
//
// The read path (get.go, iterator.go): a reader takes a reference to the current read state
// (memtable, immutable memtable, Version) without taking the DB's mutex, then searches the
// memtables and the tables newest first, seeing only entries at or below its sequence number.
//
// Open (open.go, recovery.go) reads CURRENT and the MANIFEST, replays the logs newer than the
// MANIFEST's log number into level-0 tables, and starts a fresh log and MANIFEST.
//
// Invariants:
//  1. A write that returned is in the log before it is in the memtable, and in the memtable
//     before readers can see its sequence number; a batch becomes visible all at once.
//  2. A write with Sync returned after its log record was fsynced; a write without Sync
//     returned after its record was handed to the OS in one write call.
//  3. A file is named in the MANIFEST only after its contents and its directory entry are
//     durable; a file is deleted only when no Version, no reader and no pending output uses it.
//  4. After an I/O error on the log or the MANIFEST, the DB refuses further writes (a sticky
//     error) rather than continue on a state it cannot vouch for.
//
// Concurrency: every method of DB is safe for concurrent use. An Iterator belongs to one
// goroutine. Fields guarded by DB.mu are grouped under it; functions that need it held end in
// Locked.
package db
