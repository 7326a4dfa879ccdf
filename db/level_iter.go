package db

import (
	"sort"

	"github.com/stratadb/strata/internal/iterator"
)

// levelIter iterates the tables of one level (sorted by key, non-overlapping) as one sequence,
// opening a table only when the iteration reaches it and closing it when it leaves. It follows
// the internal/iterator contract.
type levelIter struct {
	cmp   func(a, b []byte) int // internal-key order
	n     int                   // number of files
	bound func(i int) (smallest, largest []byte)
	open  func(i int) (iterator.Iterator, error)

	idx int               // file under cur; -1 or n when off the ends
	cur iterator.Iterator // nil when no file is open
	err error
}

func newLevelIter(cmp func(a, b []byte) int, n int, bound func(i int) (smallest, largest []byte),
	open func(i int) (iterator.Iterator, error)) *levelIter {
	return &levelIter{cmp: cmp, n: n, bound: bound, open: open, idx: -1}
}

// openFile makes file i current, closing the previous one. It returns false on an error or when
// i is out of range.
func (l *levelIter) openFile(i int) bool {
	if l.cur != nil && l.idx == i {
		return true
	}
	if l.cur != nil {
		if err := l.cur.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.cur = nil
	}
	l.idx = i
	if i < 0 || i >= l.n || l.err != nil {
		return false
	}
	it, err := l.open(i)
	if err != nil {
		l.err = err
		return false
	}
	l.cur = it
	return true
}

// failed checks cur's error after a positioning call that left it invalid.
func (l *levelIter) failed() bool {
	if l.cur != nil && !l.cur.Valid() {
		if err := l.cur.Error(); err != nil {
			l.err = err
			return true
		}
	}
	return l.err != nil
}

// forward moves to the first entry of the files after the current one while cur is exhausted.
func (l *levelIter) forward(valid bool) bool {
	for !valid {
		if l.failed() || !l.openFile(l.idx+1) {
			return false
		}
		valid = l.cur.First()
	}
	return true
}

// backward moves to the last entry of the files before the current one while cur is exhausted.
func (l *levelIter) backward(valid bool) bool {
	for !valid {
		if l.failed() || !l.openFile(l.idx-1) {
			return false
		}
		valid = l.cur.Last()
	}
	return true
}

func (l *levelIter) reset() { l.err = nil }

func (l *levelIter) First() bool {
	l.reset()
	if !l.openFile(0) {
		return false
	}
	return l.forward(l.cur.First())
}

func (l *levelIter) Last() bool {
	l.reset()
	if !l.openFile(l.n - 1) {
		return false
	}
	return l.backward(l.cur.Last())
}

// SeekGE opens the first file whose largest key is >= key.
func (l *levelIter) SeekGE(key []byte) bool {
	l.reset()
	i := sort.Search(l.n, func(i int) bool {
		_, largest := l.bound(i)
		return l.cmp(largest, key) >= 0
	})
	if !l.openFile(i) {
		return false
	}
	return l.forward(l.cur.SeekGE(key))
}

// SeekLT opens the last file whose smallest key is < key.
func (l *levelIter) SeekLT(key []byte) bool {
	l.reset()
	i := sort.Search(l.n, func(i int) bool {
		smallest, _ := l.bound(i)
		return l.cmp(smallest, key) >= 0
	}) - 1
	if !l.openFile(i) {
		return false
	}
	return l.backward(l.cur.SeekLT(key))
}

func (l *levelIter) Next() bool { return l.forward(l.cur.Next()) }

func (l *levelIter) Prev() bool { return l.backward(l.cur.Prev()) }

func (l *levelIter) Valid() bool { return l.cur != nil && l.err == nil && l.cur.Valid() }

func (l *levelIter) Key() []byte { return l.cur.Key() }

func (l *levelIter) Value() []byte { return l.cur.Value() }

func (l *levelIter) Error() error { return l.err }

func (l *levelIter) Close() error {
	if l.cur != nil {
		if err := l.cur.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.cur = nil
	}
	return l.err
}
