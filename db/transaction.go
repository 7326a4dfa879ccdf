package db

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Transaction is an optimistic, serializable transaction: it reads the DB as of the moment it
// began, plus its own writes, buffers its writes, and at Commit writes them as one atomic batch
// if, and only if, nothing it read has been written by anyone else since it began. Otherwise
// Commit returns an error matching ErrConflict and writes nothing; run the transaction again
// (DB.Update does).
//
// "Nothing it read" is every key it looked up with Get (found or not) and every key range its
// iterators covered, from where each was positioned to where it stopped, in either direction:
// so a key inserted into a range the transaction scanned (a phantom) is a conflict too. The
// committed transactions, with the plain writes between them, are equivalent to running them
// one at a time in commit order: the isolation is serializable. A transaction that wrote without
// reading never conflicts; one that only read commits at once. The check can report a conflict
// where a serial order exists (see docs/transactions.md): a write of the same value counts, and
// so does a write to a range the iterator covered but whose keys the program ignored.
//
// A Transaction belongs to one goroutine. Its buffered writes are bounded by
// Options.MaxTransactionBytes (ErrTxnTooBig past it). It holds a snapshot until Commit or
// Discard, so compaction keeps the old versions it may read: end transactions promptly, and
// always call Discard (it is harmless after Commit).
type Transaction struct {
	d     *DB
	snap  Snapshot
	state txnState // registration in the DB's commit history; guarded by d.mu
	view  bool     // a View: no writes, no registration
	done  bool
	reads readSet
	// writes holds the writes in order; offsets indexes each key's last write in it once there
	// are more than smallTxn (before that, a lookup reads the batch).
	writes  Batch
	offsets map[string]int
	limit   int
}

// NewTransaction begins a transaction: its reads see the DB as of now, plus its own writes. End
// it with Commit or Discard.
func (d *DB) NewTransaction() *Transaction { return d.newTransaction(false) }

func (d *DB) newTransaction(view bool) *Transaction {
	tx := &Transaction{d: d, view: view, limit: d.opts.MaxTransactionBytes}
	d.mu.Lock()
	defer d.mu.Unlock()
	tx.snap.db, tx.snap.seq = d, keys.SeqNum(d.lastSeq.Load())
	if d.mu.closed {
		tx.snap.released.Store(true) // every read and the commit fail with ErrClosed
		return tx
	}
	d.mu.snapshots.pushBack(&tx.snap)
	if !view {
		d.mu.history.register(&tx.state, tx.snap.seq)
	}
	return tx
}

// errTxnDone is the error of a call on a transaction after Commit or Discard.
func errTxnDone(op string) error {
	return dberr.InvalidArgf("transaction %s after Commit or Discard", op)
}

// Get returns the value of key as the transaction sees it: its own latest write of key, else the
// DB as of the transaction's start. It returns ErrNotFound when absent. Unless key was written
// by the transaction, the read is recorded: a write of key by anyone else after the transaction
// began makes Commit fail with ErrConflict. The caller owns the returned slice.
func (tx *Transaction) Get(key []byte) ([]byte, error) {
	if tx.done {
		return nil, errTxnDone("Get")
	}
	if value, deleted, ok := tx.own(key); ok {
		if deleted {
			return nil, ErrNotFound
		}
		return append([]byte{}, value...), nil
	}
	if !tx.view {
		tx.reads.addPoint(key)
	}
	return tx.d.getAt(key, &tx.snap, true)
}

// own returns the transaction's last write of key, if it wrote key.
func (tx *Transaction) own(key []byte) (value []byte, deleted, ok bool) {
	if tx.offsets != nil {
		off, found := tx.offsets[string(key)]
		if !found {
			return nil, false, false
		}
		kind, _, v, _ := batch.EntryAt(tx.writes.repr, off)
		return v, kind == keys.KindDelete, true
	}
	tx.eachWrite(func(_ int, kind keys.Kind, k, v []byte) {
		if string(k) == string(key) {
			value, deleted, ok = v, kind == keys.KindDelete, true
		}
	})
	return value, deleted, ok
}

// eachWrite calls fn with every write, in order, and its offset in the batch.
func (tx *Transaction) eachWrite(fn func(off int, kind keys.Kind, key, value []byte)) {
	if tx.writes.Len() == 0 {
		return
	}
	r, err := batch.NewReader(tx.writes.repr, "transaction", 0)
	if err != nil {
		return
	}
	for {
		off := r.Pos()
		kind, k, v, ok := r.Next()
		if !ok {
			return
		}
		fn(off, kind, k, v)
	}
}

// noteWrite indexes the write of key just appended at off, once the transaction is past smallTxn
// writes.
func (tx *Transaction) noteWrite(off int, key []byte) {
	switch {
	case tx.offsets != nil:
		tx.offsets[string(key)] = off
	case tx.writes.Len() > smallTxn:
		tx.offsets = make(map[string]int, 2*smallTxn)
		tx.eachWrite(func(off int, _ keys.Kind, k, _ []byte) { tx.offsets[string(k)] = off })
	}
}

// Put buffers the write of key with value, copying both; the DB sees it at Commit. It returns
// ErrTxnTooBig when the transaction's writes would pass Options.MaxTransactionBytes (the
// transaction then holds the writes before this one).
func (tx *Transaction) Put(key, value []byte) error {
	if err := tx.checkWrite("Put", batch.EncodedPutLen(len(key), len(value))); err != nil {
		return err
	}
	off := tx.writes.Size()
	tx.writes.Put(key, value)
	tx.noteWrite(off, key)
	return nil
}

// Delete buffers the deletion of key; deleting an absent key is not an error. It returns
// ErrTxnTooBig as Put does.
func (tx *Transaction) Delete(key []byte) error {
	if err := tx.checkWrite("Delete", batch.EncodedDeleteLen(len(key))); err != nil {
		return err
	}
	off := tx.writes.Size()
	tx.writes.Delete(key)
	tx.noteWrite(off, key)
	return nil
}

func (tx *Transaction) checkWrite(op string, size int) error {
	switch {
	case tx.done:
		return errTxnDone(op)
	case tx.view:
		return dberr.InvalidArgf("%s in a View transaction", op)
	case tx.writes.Size()+size > tx.limit:
		return fmt.Errorf("%w: %s of %d bytes would take the transaction past %d bytes (Options.MaxTransactionBytes)",
			ErrTxnTooBig, op, size, tx.limit)
	}
	return nil
}

// Commit writes the transaction's writes as one atomic batch, synced as wo says (nil: not
// synced), if nothing the transaction read was written by anyone else since it began; else it
// returns an error matching ErrConflict and writes nothing. A transaction with no writes commits
// at once, whatever it read. Commit ends the transaction either way.
func (tx *Transaction) Commit(wo *WriteOptions) error {
	if tx.done {
		return errTxnDone("Commit")
	}
	defer tx.Discard()
	if tx.writes.Len() == 0 {
		return nil
	}
	if tx.reads.empty() {
		return tx.d.Write(&tx.writes, wo) // a blind write never conflicts
	}
	d := tx.d
	if d.closed.Load() {
		return ErrClosed
	}
	if d.opts.ReadOnly {
		return errReadOnly("transaction commit")
	}
	sync := wo != nil && wo.Sync
	check := &txnCheck{state: &tx.state, reads: &tx.reads}
	for {
		err := d.commits.commitChecked(tx.writes.repr, sync, check)
		if !errors.Is(err, errLapsed) {
			return err
		}
		// The history dropped writes this transaction needs: check them against the DB, then
		// queue again with the history covering it from there.
		d.mu.Lock()
		from := tx.state.from
		upto := keys.SeqNum(d.lastSeq.Load())
		d.mu.history.register(&tx.state, upto)
		d.mu.Unlock()
		if err := d.revalidate(&tx.reads, from, upto); err != nil {
			return err
		}
	}
}

// Discard ends the transaction without writing, releasing its snapshot. It is idempotent, and
// harmless after Commit.
func (tx *Transaction) Discard() {
	if tx.done {
		return
	}
	tx.done = true
	d := tx.d
	d.mu.Lock() // once for both: the history and the snapshot (Snapshot.Release's work)
	if !tx.view {
		d.mu.history.unregister(&tx.state)
	}
	if !tx.snap.released.Load() {
		tx.snap.released.Store(true)
		d.mu.snapshots.remove(&tx.snap)
	}
	d.mu.Unlock()
}

// lastWrites returns each key's last write, as the transaction's iterators see them; the values
// alias the batch.
func (tx *Transaction) lastWrites() map[string]txnWrite {
	m := make(map[string]txnWrite)
	tx.eachWrite(func(_ int, kind keys.Kind, k, v []byte) {
		m[string(k)] = txnWrite{value: v, deleted: kind == keys.KindDelete}
	})
	return m
}

// txnWrite is a transaction's last write of a key.
type txnWrite struct {
	value   []byte
	deleted bool
}

// maxUpdateAttempts bounds the runs of Update's function.
const maxUpdateAttempts = 20

// Update runs fn in a new transaction and commits it (not synced; use UpdateSync for a synced
// commit). When the commit fails with ErrConflict it runs fn again in a fresh transaction, up
// to 20 times, with a short random pause after the first few conflicts; it then returns the last
// conflict. An error from fn discards the transaction and is returned as it is. fn may run more
// than once, so it must not have effects outside the transaction that a retry would repeat.
func (d *DB) Update(fn func(tx *Transaction) error) error { return d.update(fn, nil) }

// UpdateSync is Update with a synced commit: when it returns nil the transaction's writes are on
// stable storage.
func (d *DB) UpdateSync(fn func(tx *Transaction) error) error {
	return d.update(fn, &WriteOptions{Sync: true})
}

func (d *DB) update(fn func(tx *Transaction) error, wo *WriteOptions) error {
	var err error
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		if attempt >= 3 {
			time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(50*time.Microsecond))))
		}
		tx := d.NewTransaction()
		if err = fn(tx); err != nil {
			tx.Discard()
			return err
		}
		if err = tx.Commit(wo); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// View runs fn in a read-only transaction: a consistent view of the DB as of the call. Its Put
// and Delete fail; it never conflicts. View returns fn's error.
func (d *DB) View(fn func(tx *Transaction) error) error {
	tx := d.newTransaction(true)
	defer tx.Discard()
	return fn(tx)
}
