package db

// The replay of the metamorphic test: a metaDriver runs a sequence of operations against one
// metaTarget (the DB under one option set, metamorphic_db_test.go, or the model,
// metamorphic_model_test.go) and returns one line of output per operation. All the bookkeeping
// is here, shared by both targets, so that they agree on everything but what the store
// answers: which snapshots, iterators and transactions are open (an operation on one that is
// not gives "no such ..."), which iterators are positioned (Next and Prev on one that is not are
// skipped), whether the DB is open read-only (then flushes are skipped; writes, compactions and
// commits go to the target, which must refuse them), and the end of everything open before a
// reopen, a crash or a read-only open (iterators are closed, transactions discarded,
// snapshots released: none survives a close).

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// metaKV is one entry read back.
type metaKV struct{ Key, Value []byte }

// metaTarget is what a sequence runs against. Handles (snapshots, iterators, transactions) are
// the target's own; the driver only keeps them. A read that goes through a snapshot or a
// transaction gets its handle, else nil.
type metaTarget interface {
	write(op *metaOp) error // put, del, batch or sync
	get(key []byte, snap any) ([]byte, error)
	scan(snap any) ([]metaKV, error) // every entry, in order (the DB also checks a reverse scan)
	newSnapshot() any
	release(snap any)
	newIter(snap, txn any, lower, upper []byte) any
	// move moves it (First, Last, Next, Prev, SeekGE or SeekLT, by kind) and returns where it is.
	move(it any, kind metaKind, key []byte) (kv metaKV, valid bool, err error)
	closeIter(it any) error
	compact(start, limit []byte) error
	flush() error
	// reopen closes the store and opens it again: after a crash (metaCrash: the DB first makes
	// every write durable with an empty synced write, then loses power), read-only
	// (metaReadOnly, after the same synced write), or plainly (metaReopen).
	reopen(kind metaKind) error
	checkpoint(readOnly bool) ([]metaKV, error) // a checkpoint's contents, read from an open of it
	txnBegin() any
	txnGet(tx any, key []byte) ([]byte, error)
	txnPut(tx any, key, value []byte) error
	txnDel(tx any, key []byte) error
	txnCommit(tx any, sync bool) error
	txnDiscard(tx any)
	// update runs DB.Update: read key (got, gotErr); put value at dest if found, else delete dest.
	update(key, dest, value []byte) (got []byte, gotErr, err error)
	view(key []byte) ([]byte, error) // DB.View: read key
	close() error
}

// metaIterRef is an open iterator: the target's handle, the transaction it reads through (0 =
// none), and whether it is positioned.
type metaIterRef struct {
	h     any
	txn   int
	valid bool
}

// metaDriver replays operations against one target.
type metaDriver struct {
	tgt      metaTarget
	snaps    map[int]any
	iters    map[int]*metaIterRef
	txns     map[int]any
	readOnly bool
	broken   string // the panic that ended the replay
}

func newMetaDriver(tgt metaTarget) *metaDriver {
	return &metaDriver{tgt: tgt, snaps: map[int]any{}, iters: map[int]*metaIterRef{}, txns: map[int]any{}}
}

// replayMeta runs ops against tgt, then closes it, and returns one line per operation and a
// last line for the close. A panic ends the replay with a line that says so; it is returned
// with its stack.
func replayMeta(tgt metaTarget, ops []metaOp) (lines []string, panicked string) {
	d := newMetaDriver(tgt)
	out := make([]string, 0, len(ops)+1)
	for i := range ops {
		line := d.run(&ops[i])
		out = append(out, line)
		if d.broken != "" {
			return out, d.broken
		}
	}
	_ = d.safely(func() error { d.endAll(); return nil })
	out = append(out, "close: "+metaResult(d.safely(tgt.close)))
	return out, d.broken
}

// safely calls f, turning a panic into an error and marking the replay broken.
func (d *metaDriver) safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			d.broken = fmt.Sprintf("%v\n%s", p, debug.Stack())
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

// run runs one operation and returns its line of output.
func (d *metaDriver) run(op *metaOp) (line string) {
	defer func() {
		if p := recover(); p != nil {
			d.broken = fmt.Sprintf("%v\n%s", p, debug.Stack())
			line = fmt.Sprintf("panic: %v", p)
		}
	}()
	t := d.tgt
	switch op.Kind {
	case metaPut, metaDel, metaBatch, metaSync:
		return metaResult(t.write(op))
	case metaGet:
		snap, ok := d.snaps[op.Snap]
		if op.Snap != 0 && !ok {
			return fmt.Sprintf("no snapshot %d", op.Snap)
		}
		v, err := t.get(op.Key, snap)
		return metaValueResult(v, err)
	case metaScan:
		snap, ok := d.snaps[op.Snap]
		if op.Snap != 0 && !ok {
			return fmt.Sprintf("no snapshot %d", op.Snap)
		}
		kvs, err := t.scan(snap)
		return metaScanResult(kvs, err)
	case metaSnap:
		if _, ok := d.snaps[op.ID]; ok || op.ID == 0 {
			return fmt.Sprintf("snapshot %d exists", op.ID)
		}
		d.snaps[op.ID] = t.newSnapshot()
		return "ok"
	case metaRelease:
		snap, ok := d.snaps[op.ID]
		if !ok {
			return fmt.Sprintf("no snapshot %d", op.ID)
		}
		t.release(snap)
		delete(d.snaps, op.ID)
		return "ok"
	case metaIter:
		return d.newIter(op)
	case metaFirst, metaLast, metaNext, metaPrev, metaSeekGE, metaSeekLT:
		it, ok := d.iters[op.ID]
		switch {
		case !ok:
			return fmt.Sprintf("no iterator %d", op.ID)
		case !it.valid && (op.Kind == metaNext || op.Kind == metaPrev):
			return "skipped: not positioned"
		}
		kv, valid, err := t.move(it.h, op.Kind, op.Key)
		it.valid = valid
		if err != nil {
			return metaResult(err)
		}
		if !valid {
			return "."
		}
		return fmt.Sprintf("%q=%s", kv.Key, fmtMetaValue(kv.Value))
	case metaIterClose:
		it, ok := d.iters[op.ID]
		if !ok {
			return fmt.Sprintf("no iterator %d", op.ID)
		}
		delete(d.iters, op.ID)
		return metaResult(t.closeIter(it.h))
	case metaCompact:
		return metaResult(t.compact(op.Key, op.Limit))
	case metaFlush:
		if d.readOnly {
			return "skipped: read-only"
		}
		return metaResult(t.flush())
	case metaReopen, metaCrash, metaReadOnly:
		d.endAll()
		d.readOnly = op.Kind == metaReadOnly
		return metaResult(t.reopen(op.Kind))
	case metaCheckpoint:
		kvs, err := t.checkpoint(op.ReadOnly)
		return metaScanResult(kvs, err)
	case metaUpdate:
		got, gotErr, err := t.update(op.Key, op.Dest, op.Value.bytes())
		return metaValueResult(got, gotErr) + "; " + metaResult(err)
	case metaView:
		return metaValueResult(t.view(op.Key))
	case metaTxn:
		if _, ok := d.txns[op.ID]; ok || op.ID == 0 {
			return fmt.Sprintf("transaction %d exists", op.ID)
		}
		d.txns[op.ID] = t.txnBegin()
		return "ok"
	}
	return d.runTxn(op)
}

// runTxn runs an operation on a transaction.
func (d *metaDriver) runTxn(op *metaOp) string {
	t := d.tgt
	tx, ok := d.txns[op.ID]
	if !ok {
		return fmt.Sprintf("no transaction %d", op.ID)
	}
	switch op.Kind {
	case metaTxnGet:
		v, err := t.txnGet(tx, op.Key)
		return metaValueResult(v, err)
	case metaTxnPut:
		return metaResult(t.txnPut(tx, op.Key, op.Value.bytes()))
	case metaTxnDel:
		return metaResult(t.txnDel(tx, op.Key))
	case metaCommit, metaDiscard:
		d.closeTxnIters(op.ID)
		delete(d.txns, op.ID)
		if op.Kind == metaDiscard {
			t.txnDiscard(tx)
			return "ok"
		}
		return metaResult(t.txnCommit(tx, op.Sync))
	}
	return fmt.Sprintf("unknown operation %v", op.Kind)
}

func (d *metaDriver) newIter(op *metaOp) string {
	if _, ok := d.iters[op.ID]; ok || op.ID == 0 {
		return fmt.Sprintf("iterator %d exists", op.ID)
	}
	snap, ok := d.snaps[op.Snap]
	if op.Snap != 0 && !ok {
		return fmt.Sprintf("no snapshot %d", op.Snap)
	}
	tx, ok := d.txns[op.Txn]
	if op.Txn != 0 && !ok {
		return fmt.Sprintf("no transaction %d", op.Txn)
	}
	if op.Snap != 0 && op.Txn != 0 {
		return "a transaction's iterator reads at its own snapshot"
	}
	d.iters[op.ID] = &metaIterRef{h: d.tgt.newIter(snap, tx, op.Lower, op.Upper), txn: op.Txn}
	return "ok"
}

// closeTxnIters closes the iterators of transaction id (they must be closed before it ends).
func (d *metaDriver) closeTxnIters(id int) {
	for n, it := range d.iters {
		if it.txn == id {
			_ = d.tgt.closeIter(it.h)
			delete(d.iters, n)
		}
	}
}

// endAll closes every iterator, discards every transaction and releases every snapshot, in
// that order, before a close.
func (d *metaDriver) endAll() {
	for n, it := range d.iters {
		_ = d.tgt.closeIter(it.h)
		delete(d.iters, n)
	}
	for n, tx := range d.txns {
		d.tgt.txnDiscard(tx)
		delete(d.txns, n)
	}
	for n, s := range d.snaps {
		d.tgt.release(s)
		delete(d.snaps, n)
	}
}

// metaResult prints an error by its sentinel, so that a line does not depend on file names or
// numbers, which differ between option sets.
func metaResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrReadOnly):
		return "read-only"
	case errors.Is(err, ErrClosed):
		return "closed"
	}
	return "error: " + err.Error()
}

func metaValueResult(v []byte, err error) string {
	if err != nil {
		return metaResult(err)
	}
	return fmtMetaValue(v)
}

// metaScanResult prints every entry of a scan.
func metaScanResult(kvs []metaKV, err error) string {
	if err != nil {
		return metaResult(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d entries:", len(kvs))
	for _, kv := range kvs {
		fmt.Fprintf(&b, " %q=%s", kv.Key, fmtMetaValue(kv.Value))
	}
	return b.String()
}
