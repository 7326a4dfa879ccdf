package sstable

import "github.com/stratadb/strata/internal/coding"

// blockWriter builds one block (data, index or metaindex) in the layout that block.go
// describes. Keys must be added in strictly increasing order; the Writer checks that.
type blockWriter struct {
	interval int      // entries per restart interval
	buf      []byte   // entries so far; the restart array is appended by finish
	restarts []uint32 // offsets of the restart entries; restarts[0] == 0 always
	counter  int      // entries since the last restart point
	lastKey  []byte
	entries  int
}

func newBlockWriter(interval int) blockWriter {
	return blockWriter{interval: interval, restarts: []uint32{0}}
}

// add appends an entry. The first entry of every restart interval stores its key whole; the
// others store only the bytes after the prefix they share with the previous key.
func (w *blockWriter) add(key, value []byte) {
	shared := 0
	if w.counter < w.interval {
		n := min(len(w.lastKey), len(key))
		for shared < n && w.lastKey[shared] == key[shared] {
			shared++
		}
	} else {
		w.restarts = append(w.restarts, uint32(len(w.buf)))
		w.counter = 0
	}
	unshared := len(key) - shared
	w.buf = coding.AppendVarint32(w.buf, uint32(shared))
	w.buf = coding.AppendVarint32(w.buf, uint32(unshared))
	w.buf = coding.AppendVarint32(w.buf, uint32(len(value)))
	w.buf = append(w.buf, key[shared:]...)
	w.buf = append(w.buf, value...)
	w.lastKey = append(w.lastKey[:shared], key[shared:]...)
	w.counter++
	w.entries++
}

// estimate is the size finish would return now, leveldb's CurrentSizeEstimate: the entries,
// the restart array and its count.
func (w *blockWriter) estimate() int {
	return len(w.buf) + 4*len(w.restarts) + 4
}

func (w *blockWriter) empty() bool { return w.entries == 0 }

// finish appends the restart array and its count and returns the block contents. They stay
// valid until the next reset.
func (w *blockWriter) finish() []byte {
	for _, r := range w.restarts {
		w.buf = coding.AppendFixed32(w.buf, r)
	}
	w.buf = coding.AppendFixed32(w.buf, uint32(len(w.restarts)))
	return w.buf
}

// reset empties the block for reuse, keeping its buffers.
func (w *blockWriter) reset() {
	w.buf = w.buf[:0]
	w.restarts = append(w.restarts[:0], 0)
	w.counter = 0
	w.lastKey = w.lastKey[:0]
	w.entries = 0
}
