package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"

	"github.com/stratadb/strata/internal/offheap"
)

// A chunk is a run of consecutive lines of the input, read straight into one buffer, with an
// index of its names. The buffer and the index are allocated once, at the sizes the memory
// plan gives, and reused for every chunk, so that the tool holds at most one chunk of names
// however large n is.
//
// A chunk indexes its names one of two ways: as entries (16 bytes a name; Sort orders them), or,
// for an engine whose batched lookup takes the names as slices, as those slices (24 bytes a
// name), so that the lookup needs no second index.
type chunk struct {
	buf   []byte   // whole lines, each ending in '\n'; the index points into it
	ents  []entry  // the names of buf, in the file's order until sorted; unused with names
	names [][]byte // the names of buf, in the file's order, for a chunk made by newSliceChunk
	free  func()   // releases the memory of a chunk from newSliceChunk; nil otherwise
}

// entry locates one name in its chunk's buffer. prefix holds the name's first eight bytes,
// big-endian and zero-padded, so that most comparisons of a sort read no more than the entries.
type entry struct {
	prefix uint64
	off    uint32
	len    uint32
}

// entryBytes is the size of an entry.
const entryBytes = 16

// sliceBytes is the size of a name's slice in a chunk from newSliceChunk.
const sliceBytes = 24

// Len is the number of names in c.
func (c *chunk) Len() int {
	if c.sliced() {
		return len(c.names)
	}
	return len(c.ents)
}

// sliced reports whether c indexes its names as slices.
func (c *chunk) sliced() bool { return cap(c.names) > 0 }

// Name returns c's name i; it is valid until the next chunk is read into c.
func (c *chunk) Name(i int) []byte {
	if c.sliced() {
		return c.names[i]
	}
	e := c.ents[i]
	return c.buf[e.off : e.off+e.len : e.off+e.len]
}

// full reports whether c's index has no room for another name.
func (c *chunk) full() bool {
	if c.sliced() {
		return len(c.names) == cap(c.names)
	}
	return len(c.ents) == cap(c.ents)
}

// reset empties c, keeping its memory.
func (c *chunk) reset() {
	c.buf, c.ents, c.names = c.buf[:0], c.ents[:0], c.names[:0]
}

// index adds the name at buf[off:off+n] to c's index.
func (c *chunk) index(off, n int) {
	if c.sliced() {
		c.names = append(c.names, c.buf[off:off+n:off+n])
		return
	}
	c.ents = append(c.ents, entry{prefix: prefixOf(c.buf[off : off+n]), off: uint32(off), len: uint32(n)})
}

// add appends name to c as a line of its own (the buffer must have room for it).
func (c *chunk) add(name []byte) {
	off := len(c.buf)
	c.buf = append(append(c.buf, name...), '\n')
	c.index(off, len(name))
}

// Sort puts c's names in bytewise order, the order of every engine here. It needs entries.
func (c *chunk) Sort() {
	slices.SortFunc(c.ents, func(a, b entry) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		// Equal prefixes: either both names are longer than 8 bytes, or both are the same name
		// of at most 8 (names hold no zero byte), which the input never repeats.
		return bytes.Compare(c.buf[a.off+min(8, a.len):a.off+a.len], c.buf[b.off+min(8, b.len):b.off+b.len])
	})
}

// prefixOf returns the first eight bytes of name, big-endian, zero-padded.
func prefixOf(name []byte) uint64 {
	if len(name) >= 8 {
		return binary.BigEndian.Uint64(name)
	}
	var b [8]byte
	copy(b[:], name)
	return binary.BigEndian.Uint64(b[:])
}

// avgLine is the mean bytes of an input line: (6+16)/2 characters and a newline.
const avgLine = 12

// newChunk returns a chunk of about bytes of memory, or less when n names need less: its buffer
// and its index share it in the proportion of lines of avgLine bytes. (Go counts an allocation
// whole in its heap, touched or not, and paces its collector by it: a chunk larger than the
// input would make the collector run later than the budget needs at small n.)
func newChunk(bytes, n int64) *chunk {
	names := chunkNames(bytes, n, entryBytes)
	bufBytes := min(names*avgLine, 1<<32-1) // entries hold 32-bit offsets
	return &chunk{buf: make([]byte, 0, bufBytes), ents: make([]entry, 0, names)}
}

// newSliceChunk is newChunk for a chunk that indexes its names as slices. Its memory lies
// outside the Go heap (internal/offheap: in huge pages, on Linux), which holds no pointer into
// the heap: hundreds of megabytes of names and of slices of them, which the garbage collector
// would otherwise scan at each cycle (a second of CPU in a profiled verify of 100,000,000
// names) and count in the heap that paces it, and which a batched lookup visits in sorted
// order, all over their memory. free releases it.
func newSliceChunk(bytes, n int64) *chunk {
	names := chunkNames(bytes, n, sliceBytes)
	buf := offheap.Alloc(int(names * avgLine))
	idx := offheap.Alloc(int(names * sliceBytes))
	return &chunk{
		buf:   buf.Bytes()[:0],
		names: unsafe.Slice((*[]byte)(unsafe.Pointer(unsafe.SliceData(idx.Bytes()))), names)[:0],
		free:  func() { idx.Free(); buf.Free() },
	}
}

// chunkNames is how many names a chunk of about bytes holds, at index bytes a name, when n
// names are to be read.
func chunkNames(bytes, n, index int64) int64 {
	return max(min(bytes/(avgLine+index), n+n/8), 16)
}

// chunkReader reads the input a chunk at a time. A chunk ends at a line's end when the
// buffer or the index is full; what was read past it is kept for the next chunk.
type chunkReader struct {
	r    io.Reader
	rest []byte // bytes read past the last chunk's last line
	eof  bool
}

// newChunkReader returns a reader of f from its start.
func newChunkReader(f *os.File) *chunkReader { return &chunkReader{r: f} }

// errLongLine is returned when a line does not fit in a chunk's buffer.
var errLongLine = errors.New("input line longer than a chunk's buffer")

// next reads the next chunk into c, reusing its memory. It returns false at the end of the
// input, when c holds no names.
func (cr *chunkReader) next(c *chunk) (bool, error) {
	// The rest of the previous read moves to the front: a copy, not an allocation.
	c.reset()
	c.buf = append(c.buf, cr.rest...)
	cr.rest = nil
	if !cr.eof {
		n, err := io.ReadFull(cr.r, c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			cr.eof = true
		case err != nil:
			return false, err
		}
	}
	off := 0
	for !c.full() {
		i := bytes.IndexByte(c.buf[off:], '\n')
		if i < 0 {
			break
		}
		c.index(off, i)
		off += i + 1
	}
	// c.buf[off:] is the start of the next chunk. It aliases c.buf until the next call copies
	// it to the front, and no name of this chunk lies there.
	cr.rest = c.buf[off:]
	c.buf = c.buf[:off]
	switch {
	case c.Len() > 0:
		return true, nil
	case len(cr.rest) == 0 && cr.eof:
		return false, nil
	case cr.eof:
		return false, fmt.Errorf("input ends without a newline after %q", cr.rest)
	default:
		return false, errLongLine
	}
}
