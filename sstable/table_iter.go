package sstable

import (
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/iterator"
)

var _ iterator.Iterator = (*Iterator)(nil)

// Iterator walks a table in key order: a two-level iterator over the index (decoded at Open)
// and the data block of the current index entry. It implements internal/iterator.Iterator.
// Key and Value stay valid until the next positioning call or Close; keys are built in buffers
// the Iterator owns, or alias the block. Moving within a block allocates nothing, nor does
// moving to a block that is cached or an uncompressed block of a mapped file; blocks read
// with DontFillCache reuse the Iterator's buffers. An Iterator belongs to one goroutine; any
// number of Iterators may use one Reader at once.
type Iterator struct {
	r       *Reader
	ro      ReadOptions
	idx     int // index entry of the block loaded in data, or -1
	data    blockIter
	scratch blockScratch
	err     error
	closed  bool
}

// NewIterator returns an unpositioned iterator over the table.
func (r *Reader) NewIterator(ro ReadOptions) *Iterator {
	return &Iterator{r: r, ro: ro, idx: -1}
}

// load makes data iterate over block i, reusing it when it is already loaded.
func (it *Iterator) load(i int) bool {
	if it.idx == i {
		it.data.err = nil
		return true
	}
	it.idx = -1
	h := it.r.index.ents[i].h
	contents, err := it.r.dataBlock(i, h, it.ro, &it.scratch)
	if err != nil {
		it.err = err
		it.data.valid = false
		return false
	}
	b, ok := parseBlock(contents)
	if !ok {
		it.err = it.r.corruptf(h.Offset, "block: bad restart array")
		it.data.valid = false
		return false
	}
	it.data.init(b, &it.r.ord, it.r.name, h.Offset)
	it.idx = i
	return true
}

// reset starts a positioning call: it clears the error (contract 4). It fails with ErrClosed
// once the Reader is closed.
func (it *Iterator) reset() bool {
	it.err = nil
	if it.closed || it.r.closed.Load() {
		it.err = dberr.ErrClosed
		it.data.valid = false
		return false
	}
	return true
}

func (it *Iterator) invalidate() bool {
	it.data.valid = false
	return false
}

// skipForward moves past empty blocks (and the end of a block) to the next entry.
func (it *Iterator) skipForward(i int) bool {
	for !it.data.valid {
		if it.data.err != nil {
			return false
		}
		i++
		if i >= len(it.r.index.ents) {
			return false
		}
		if !it.load(i) {
			return false
		}
		it.data.First()
	}
	return true
}

// skipBackward moves back past empty blocks (and the start of a block) to the previous entry.
func (it *Iterator) skipBackward(i int) bool {
	for !it.data.valid {
		if it.data.err != nil {
			return false
		}
		i--
		if i < 0 {
			return false
		}
		if !it.load(i) {
			return false
		}
		it.data.Last()
	}
	return true
}

// First moves to the first entry.
func (it *Iterator) First() bool {
	if !it.reset() || len(it.r.index.ents) == 0 || !it.load(0) {
		return it.invalidate()
	}
	it.data.First()
	return it.skipForward(0)
}

// Last moves to the last entry.
func (it *Iterator) Last() bool {
	n := len(it.r.index.ents)
	if !it.reset() || n == 0 || !it.load(n-1) {
		return it.invalidate()
	}
	it.data.Last()
	return it.skipBackward(n - 1)
}

// SeekGE moves to the first entry whose key is >= key.
func (it *Iterator) SeekGE(key []byte) bool {
	if !it.reset() {
		return false
	}
	i := it.r.index.seekGE(&it.r.ord, key)
	if i == len(it.r.index.ents) || !it.load(i) {
		return it.invalidate()
	}
	it.data.SeekGE(key)
	return it.skipForward(i)
}

// SeekLT moves to the last entry whose key is < key.
func (it *Iterator) SeekLT(key []byte) bool {
	if !it.reset() {
		return false
	}
	n := len(it.r.index.ents)
	if n == 0 {
		return it.invalidate()
	}
	// Blocks before the first separator >= key hold only keys < key; that block may too.
	i := min(it.r.index.seekGE(&it.r.ord, key), n-1)
	if !it.load(i) {
		return it.invalidate()
	}
	it.data.SeekLT(key)
	return it.skipBackward(i)
}

// Next moves to the following entry: within the block, or to the first entry of a later one.
// Precondition: Valid.
func (it *Iterator) Next() bool {
	return it.data.valid && !it.closed && (it.data.Next() || it.skipForward(it.idx))
}

// Prev moves to the preceding entry: within the block, or to the last entry of an earlier one.
// Precondition: Valid.
func (it *Iterator) Prev() bool {
	return it.data.valid && !it.closed && (it.data.Prev() || it.skipBackward(it.idx))
}

// Valid reports whether the iterator is on an entry.
func (it *Iterator) Valid() bool { return it.data.valid }

// Key returns the current key. Precondition: Valid.
func (it *Iterator) Key() []byte { return it.data.key }

// Value returns the current value. Precondition: Valid.
func (it *Iterator) Value() []byte { return it.data.val }

// Error returns the error that made the iterator invalid, if any.
func (it *Iterator) Error() error {
	if it.err != nil {
		return it.err
	}
	return it.data.err
}

// Close releases the iterator's buffers and returns its error, if any. The Reader stays open.
func (it *Iterator) Close() error {
	if it.closed {
		return nil
	}
	err := it.Error()
	it.closed = true
	it.data = blockIter{}
	it.scratch = blockScratch{}
	it.idx = -1
	return err
}
