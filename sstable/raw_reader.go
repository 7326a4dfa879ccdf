package sstable

import (
	"errors"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/vfs"
)

// RawReader reads the blocks of one table file without a comparator, for tools that show or
// check tables whose comparator they may not know (sstdump). It checks everything the format
// itself defines: the footer's length and magic, every handle against the file's size, each
// block's checksum and compression and, when a block is walked, its restart array and entry
// lengths. It checks nothing that needs the key order. Reader reads through the same checks
// and reports damage with the same messages.
//
// A RawReader reads with ReadAt into a pair of buffers it reuses, so it reads a table of any
// size in the memory of its largest block. It belongs to one goroutine.
type RawReader struct {
	file    tableFile
	scratch blockScratch
}

// NewRawReader returns a RawReader of f, which is size bytes long (a negative size counts as
// 0); name is used in errors. It reads nothing until asked. It does not take ownership of f.
func NewRawReader(f vfs.File, name string, size int64) *RawReader {
	return &RawReader{file: tableFile{name: name, f: f, size: uint64(max(size, 0))}}
}

// ReadFooter reads and decodes the footer: the last FooterLen bytes of the file. A file
// shorter than that, a short read, a bad magic number or a handle that does not decode is a
// *dberr.CorruptionError naming the file and the footer's offset (0 for a file too short); a
// bad magic number also matches ErrNotTable. A failure of the file itself is returned wrapped.
func (r *RawReader) ReadFooter() (Footer, error) { return r.file.readFooter() }

// CheckHandle returns nil when the block at h, trailer included, ends at or before the footer,
// and otherwise a *dberr.CorruptionError at offset at, which should be where the handle was
// found (the index block, the metaindex block, the footer): "WHAT handle (offset O, size S)
// runs past the end of the blocks at E".
func (r *RawReader) CheckHandle(h BlockHandle, at uint64, what string) error {
	return r.file.checkHandle(h, at, what)
}

// ReadBlock reads the block at h and checks it: the handle against the file (reported at
// h.Offset; call CheckHandle first to report it where the handle was found), the trailer's
// checksum, the compression type, and a snappy block's claimed and decoded length. The
// block's contents are decompressed and live in the RawReader's buffers until the next
// ReadBlock. Damage is a *dberr.CorruptionError naming the file and h.Offset, whose reason
// starts with what ("data block 3: checksum mismatch: ..."); a failure of the file itself is
// returned wrapped. ReadBlock does not check the entries: RawBlock.Walk does.
func (r *RawReader) ReadBlock(h BlockHandle, what string) (RawBlock, error) {
	contents, typ, err := r.file.readBlock(h, what, &r.scratch)
	if err != nil {
		return RawBlock{}, err
	}
	c := NoCompression
	if typ == typeSnappy {
		c = SnappyCompression
	}
	return RawBlock{Handle: h, Compression: c, Contents: contents, file: r.file.name, what: what}, nil
}

// RawBlock is a block that RawReader.ReadBlock has read and checked.
type RawBlock struct {
	Handle      BlockHandle
	Compression Compression // how the block is stored: NoCompression or SnappyCompression
	Contents    []byte      // decompressed, without the trailer

	file, what string // for errors
}

// Walk checks the structure of the block (its restart array and every entry's lengths, as
// WalkBlock does, without a key order) and then calls fn for each entry in order, until fn
// returns false. A malformed block is a *dberr.CorruptionError naming the file and the block's
// offset, its reason starting with what ReadBlock was told ("data block 3: block: restart
// count 99 too large for 40 bytes"); fn is then not called at all.
func (b RawBlock) Walk(fn func(RawEntry) bool) error {
	err := walkBlock(b.Contents, b.file, b.Handle.Offset, fn)
	var ce *dberr.CorruptionError
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	return &dberr.CorruptionError{File: ce.File, Offset: ce.Offset, Reason: b.what + ": " + ce.Reason, Err: ce.Err}
}
