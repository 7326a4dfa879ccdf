package sstable

import (
	"bufio"
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Metadata describes a finished table.
type Metadata struct {
	Smallest []byte // the first key, or nil for an empty table
	Largest  []byte // the last key, or nil for an empty table
	Size     uint64 // bytes written, footer included: the file's length
	Entries  uint64 // number of entries
}

// Writer writes a table to an io.Writer: Add each entry in strictly increasing key order, then
// Finish. It buffers its output and writes in large pieces; Finish flushes it, and the caller
// then syncs and closes the file. A Writer belongs to one goroutine.
//
// The bytes written are those leveldb 1.23's TableBuilder writes for the same entries and
// options, except that snappy-compressed blocks are only as identical as golang/snappy's output
// is to the C++ library's.
type Writer struct {
	ord       order
	comparer  keys.Comparator
	blockSize int
	snappy    bool

	out    *bufio.Writer
	offset uint64 // bytes written so far
	err    error  // sticky: the first write error
	done   bool

	data    blockWriter
	index   blockWriter
	filter  *filterWriter
	entries uint64

	lastKey  []byte
	smallest []byte

	// An index entry for a finished data block waits for the first key of the next block, so
	// that its key can be a short separator between the two.
	pendingIndex  bool
	pendingHandle BlockHandle

	scratch    []byte // separator keys and handle encodings
	compressed []byte
	trailer    [BlockTrailerLen]byte
}

// NewWriter returns a Writer that writes a table to w with opts (zero fields take leveldb's
// defaults).
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	cmp := opts.Comparator
	if cmp == nil {
		cmp = keys.Bytewise
	}
	bs := opts.BlockSize
	if bs <= 0 {
		bs = DefaultBlockSize
	}
	ri := opts.RestartInterval
	if ri <= 0 {
		ri = DefaultRestartInterval
	}
	wr := &Writer{
		ord:       newOrder(cmp),
		comparer:  cmp,
		blockSize: bs,
		snappy:    opts.Compression != NoCompression,
		out:       bufio.NewWriterSize(w, writeBufferSize),
		data:      newBlockWriter(ri),
		index:     newBlockWriter(indexRestartInterval),
	}
	if opts.Filter != nil {
		fk := opts.FilterKey
		if fk == nil {
			fk = identityKey
		}
		wr.filter = newFilterWriter(opts.Filter, fk)
		wr.filter.startBlock(0)
	}
	return wr
}

// errFinished is returned by Add and Finish after Finish.
var errFinished = fmt.Errorf("%w: table writer already finished", dberr.ErrInvalidArgument)

// Add appends an entry. key must sort strictly after the previous key under the Comparator;
// otherwise Add returns an error wrapping dberr.ErrInvalidArgument and the Writer is unchanged
// and still usable. After a write error, Add returns that error.
func (w *Writer) Add(key, value []byte) error {
	if w.done {
		return errFinished
	}
	if w.err != nil {
		return w.err
	}
	if w.entries > 0 && w.ord.compare(key, w.lastKey) <= 0 {
		return dberr.InvalidArgf("table key %q added after %q: keys must strictly increase", key, w.lastKey)
	}
	if uint64(len(key)) > 1<<32-1 || uint64(len(value)) > 1<<32-1 {
		return dberr.InvalidArgf("table key or value longer than 4 GiB")
	}
	if w.pendingIndex {
		w.scratch = w.comparer.Separator(w.scratch[:0], w.lastKey, key)
		w.addIndexEntry()
	}
	if w.filter != nil {
		w.filter.addKey(key)
	}
	if w.entries == 0 {
		w.smallest = append(w.smallest[:0], key...)
	}
	w.lastKey = append(w.lastKey[:0], key...)
	w.entries++
	w.data.add(key, value)
	if w.data.estimate() >= w.blockSize {
		w.flushData()
	}
	return w.err
}

// addIndexEntry adds w.scratch (the index key) -> pendingHandle to the index block.
func (w *Writer) addIndexEntry() {
	sep := len(w.scratch)
	w.scratch = w.pendingHandle.AppendTo(w.scratch)
	w.index.add(w.scratch[:sep], w.scratch[sep:])
	w.pendingIndex = false
}

// EstimatedSize returns the number of bytes of the blocks finished so far, as leveldb's
// TableBuilder::FileSize does: the data block being built is not counted. Compactions compare
// it with the target file size to decide where to cut.
func (w *Writer) EstimatedSize() uint64 { return w.offset }

// Entries returns the number of entries added so far.
func (w *Writer) Entries() uint64 { return w.entries }

// flushData writes the data block being built, if any.
func (w *Writer) flushData() {
	if w.data.empty() {
		return
	}
	w.pendingHandle = w.writeBlock(&w.data)
	w.pendingIndex = true
	if w.filter != nil {
		w.filter.startBlock(w.offset)
	}
}

// writeBlock finishes b, compresses it if that pays, writes it with its trailer and resets b.
func (w *Writer) writeBlock(b *blockWriter) BlockHandle {
	raw := b.finish()
	contents, typ := raw, byte(typeNone)
	if w.snappy {
		w.compressed = snappy.Encode(w.compressed[:cap(w.compressed)], raw)
		// leveldb keeps the compressed form only if it saves at least 1/8 of the block.
		if len(w.compressed) < len(raw)-len(raw)/8 {
			contents, typ = w.compressed, typeSnappy
		}
	}
	h := w.writeRaw(contents, typ)
	b.reset()
	return h
}

// writeRaw writes contents and their trailer and returns their handle.
func (w *Writer) writeRaw(contents []byte, typ byte) BlockHandle {
	h := BlockHandle{Offset: w.offset, Size: uint64(len(contents))}
	w.trailer[0] = typ
	sum := crc.Extend(crc.Value(contents), w.trailer[:1])
	coding.PutFixed32(w.trailer[1:], crc.Mask(sum))
	w.write(contents)
	w.write(w.trailer[:])
	return h
}

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.out.Write(p)
	w.offset += uint64(n)
	if err != nil {
		w.err = err
	}
}

// Finish writes the last data block, the filter block, the metaindex block, the index block
// and the footer, and flushes the Writer's buffer to the underlying writer. It does not sync
// or close it. After Finish the Writer accepts nothing more.
func (w *Writer) Finish() (Metadata, error) {
	if w.done {
		return Metadata{}, errFinished
	}
	w.done = true
	if w.err != nil {
		return Metadata{}, w.err
	}
	w.flushData()

	var filterHandle BlockHandle
	if w.filter != nil {
		filterHandle = w.writeRaw(w.filter.finish(), typeNone)
	}

	meta := newBlockWriter(w.data.interval)
	if w.filter != nil {
		w.scratch = append(append(w.scratch[:0], FilterMetaPrefix...), w.filter.policy.Name()...)
		n := len(w.scratch)
		w.scratch = filterHandle.AppendTo(w.scratch)
		meta.add(w.scratch[:n], w.scratch[n:])
	}
	var footer Footer
	footer.Metaindex = w.writeBlock(&meta)

	if w.pendingIndex {
		w.scratch = w.comparer.Successor(w.scratch[:0], w.lastKey)
		w.addIndexEntry()
	}
	footer.Index = w.writeBlock(&w.index)

	w.scratch = footer.appendTo(w.scratch[:0])
	w.write(w.scratch)
	if w.err == nil {
		w.err = w.out.Flush()
	}
	if w.err != nil {
		return Metadata{}, w.err
	}
	md := Metadata{Size: w.offset, Entries: w.entries}
	if w.entries > 0 {
		md.Smallest = append([]byte{}, w.smallest...)
		md.Largest = append([]byte{}, w.lastKey...)
	}
	return md, nil
}
