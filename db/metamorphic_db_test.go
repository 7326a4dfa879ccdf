package db

// metaDB, the DB under one option set as a target of the metamorphic test: a DB in "/db" on a
// MemFS. Checkpoints go to "/cp/N" on the same MemFS; a crash makes every write durable (an
// empty synced write syncs every earlier one) and goes on with the MemFS's CrashClone, so that
// the model of the DB after a crash is exact.

import (
	"errors"
	"fmt"

	"github.com/stratadb/strata/vfs"
)

type metaDB struct {
	fs   *vfs.MemFS
	opts Options
	mo   metaOptions
	d    *DB
	cps  int // checkpoints taken

	flushes, compactions, moves int64 // over every open
	deepest                     int   // the deepest level that held a table at a close
}

// count adds the metrics of the open DB to m's totals, before a close.
func (m *metaDB) count() {
	x := m.d.Metrics()
	m.flushes += x.Flush.Count
	m.compactions += x.Compaction.Count
	m.moves += x.Compaction.Moves
	for level, l := range x.Levels {
		if l.Files > 0 {
			m.deepest = max(m.deepest, level)
		}
	}
}

func (m *metaDB) String() string {
	return fmt.Sprintf("%d flushes, %d compactions, %d moves, deepest level L%d", m.flushes, m.compactions, m.moves, m.deepest)
}

// newMetaDB opens a new DB with mo and cmp.
func newMetaDB(mo metaOptions, cmp Comparator) (*metaDB, error) {
	m := &metaDB{fs: vfs.NewMem(), opts: mo.options(cmp), mo: mo}
	m.opts.FS = m.fs
	d, err := Open("/db", &m.opts)
	m.d = d
	return m, err
}

func (m *metaDB) ro(snap any) *ReadOptions {
	s, _ := snap.(*Snapshot)
	return m.mo.readOptions(s)
}

func (m *metaDB) write(op *metaOp) error {
	wo := &WriteOptions{Sync: op.Sync}
	switch op.Kind {
	case metaPut:
		return m.d.Put(op.Key, op.Value.bytes(), wo)
	case metaDel:
		return m.d.Delete(op.Key, wo)
	case metaSync:
		return m.d.Write(&Batch{}, &WriteOptions{Sync: true})
	}
	var b Batch
	for _, e := range op.Entries {
		if e.Del {
			b.Delete(e.Key)
		} else {
			b.Put(e.Key, e.Value.bytes())
		}
	}
	return m.d.Write(&b, wo)
}

func (m *metaDB) get(key []byte, snap any) ([]byte, error) { return m.d.Get(key, m.ro(snap)) }

func (m *metaDB) scan(snap any) ([]metaKV, error) { return metaScanDB(m.d, m.ro(snap)) }

// metaScanDB reads every entry of d through ro forward, then backward, and requires the two
// to agree.
func metaScanDB(d *DB, ro *ReadOptions) ([]metaKV, error) {
	it := d.NewIterator(ro)
	var kvs []metaKV
	for ok := it.First(); ok; ok = it.Next() {
		kvs = append(kvs, metaKV{append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)})
	}
	i := len(kvs)
	for ok := it.Last(); ok && it.Error() == nil; ok = it.Prev() {
		i--
		if i < 0 || string(kvs[i].Key) != string(it.Key()) || string(kvs[i].Value) != string(it.Value()) {
			it.Close()
			return kvs, fmt.Errorf("the reverse scan differs from the forward scan at %q (entry %d of %d)", it.Key(), i, len(kvs))
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return kvs, err
	}
	if i != 0 {
		it.Close()
		return kvs, fmt.Errorf("the reverse scan stopped %d entries early", i)
	}
	return kvs, it.Close()
}

func (m *metaDB) newSnapshot() any { return m.d.NewSnapshot() }
func (m *metaDB) release(snap any) { snap.(*Snapshot).Release() }

func (m *metaDB) newIter(snap, txn any, lower, upper []byte) any {
	ro := m.ro(snap)
	ro.LowerBound, ro.UpperBound = lower, upper
	if tx, ok := txn.(*Transaction); ok {
		return tx.NewIterator(ro)
	}
	return m.d.NewIterator(ro)
}

func (m *metaDB) move(h any, kind metaKind, key []byte) (metaKV, bool, error) {
	it := h.(*Iterator)
	var ok bool
	switch kind {
	case metaFirst:
		ok = it.First()
	case metaLast:
		ok = it.Last()
	case metaNext:
		ok = it.Next()
	case metaPrev:
		ok = it.Prev()
	case metaSeekGE:
		ok = it.Seek(key)
	case metaSeekLT:
		ok = it.SeekLT(key)
	}
	if ok != it.Valid() {
		return metaKV{}, false, fmt.Errorf("%v returned %v, Valid %v", kind, ok, it.Valid())
	}
	if !ok {
		return metaKV{}, false, it.Error()
	}
	return metaKV{it.Key(), it.Value()}, true, nil
}

func (m *metaDB) closeIter(h any) error { return h.(*Iterator).Close() }

func (m *metaDB) compact(start, limit []byte) error { return m.d.CompactRange(start, limit) }

func (m *metaDB) flush() error { return m.d.flushMemTable() }

func (m *metaDB) reopen(kind metaKind) error {
	var err error
	if kind != metaReopen && !m.opts.ReadOnly {
		err = m.d.Write(&Batch{}, &WriteOptions{Sync: true})
	}
	fs := m.fs
	if kind == metaCrash {
		fs = m.fs.CrashClone() // the DB is closed below, after the power loss
	}
	m.count()
	err = errors.Join(err, m.d.Close())
	m.fs = fs
	m.opts.FS, m.opts.ReadOnly = fs, kind == metaReadOnly
	d, openErr := Open("/db", &m.opts)
	m.d = d
	return errors.Join(err, openErr)
}

func (m *metaDB) checkpoint(readOnly bool) ([]metaKV, error) {
	m.cps++
	dir := fmt.Sprintf("/cp/%d", m.cps)
	if err := m.d.Checkpoint(dir); err != nil {
		return nil, err
	}
	o := m.opts
	o.ReadOnly, o.ErrorIfMissing = readOnly, true
	cp, err := Open(dir, &o)
	if err != nil {
		return nil, err
	}
	kvs, err := metaScanDB(cp, m.mo.readOptions(nil))
	return kvs, errors.Join(err, cp.Close())
}

func (m *metaDB) txnBegin() any { return m.d.NewTransaction() }

func (m *metaDB) txnGet(tx any, key []byte) ([]byte, error) { return tx.(*Transaction).Get(key) }

func (m *metaDB) txnPut(tx any, key, value []byte) error { return tx.(*Transaction).Put(key, value) }

func (m *metaDB) txnDel(tx any, key []byte) error { return tx.(*Transaction).Delete(key) }

func (m *metaDB) txnCommit(tx any, sync bool) error {
	return tx.(*Transaction).Commit(&WriteOptions{Sync: sync})
}

func (m *metaDB) txnDiscard(tx any) { tx.(*Transaction).Discard() }

func (m *metaDB) update(key, dest, value []byte) (got []byte, gotErr, err error) {
	err = m.d.Update(func(tx *Transaction) error {
		got, gotErr = tx.Get(key)
		switch {
		case gotErr == nil:
			return tx.Put(dest, value)
		case errors.Is(gotErr, ErrNotFound):
			return tx.Delete(dest)
		}
		return gotErr
	})
	return got, gotErr, err
}

func (m *metaDB) view(key []byte) (v []byte, err error) {
	verr := m.d.View(func(tx *Transaction) error {
		v, err = tx.Get(key)
		return nil
	})
	return v, errors.Join(err, verr)
}

func (m *metaDB) close() error {
	m.count()
	return m.d.Close()
}
