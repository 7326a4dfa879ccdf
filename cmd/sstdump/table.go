package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/sstable"
)

// table is sstdump's own reader of a table file: it reads the footer, the index block and the
// metaindex block when opened, and then data blocks one at a time into buffers it reuses, so a
// table of any size is walked in the memory of its index and one block. Unlike
// sstable.Reader it checks no key order while reading (a table written with a comparator
// sstdump does not know is still dumped), and it tells apart what makes the whole table
// unreadable (the footer, the index) from what spoils one block, so that check can carry on.
//
// Every length and offset taken from the file is checked against the file's size before it is
// used; damage is reported as a *dberr.CorruptionError naming the file and the offset of the
// block, and failures of the file itself as other errors.
type table struct {
	name string
	f    vfs.File
	size uint64

	metaindexH, indexH sstable.BlockHandle
	index              []indexEntry
	meta               []metaEntry
	internal           bool // keys are internal keys (user key + 8-byte trailer)

	// metaErr is the damage that made the metaindex unreadable, if any: the table is then read
	// without its meta blocks (the filter).
	metaErr error

	raw, dec []byte // reused block buffers
}

type indexEntry struct {
	sep []byte
	h   sstable.BlockHandle
	bad error // the handle is unusable: it did not decode or lies outside the file
}

type metaEntry struct {
	name string
	h    sstable.BlockHandle
	bad  error
}

// Never change: leveldb's block trailer types.
const (
	blockTypeNone   = 0
	blockTypeSnappy = 1

	// maxSnappyRatio bounds the decoded length a snappy block may claim before anything is
	// allocated: no valid block expands by more than 64/3 times (see sstable's constant).
	maxSnappyRatio = 22

	// filterMetaPrefix + policy name is the metaindex key of a filter block.
	filterMetaPrefix = "filter."
	// legacyBloomName is goleveldb's name for the same bloom filter bits.
	legacyBloomName = "leveldb.BuiltinBloomFilter"
)

// openTable opens the table in f (size bytes, named name in messages) and reads its footer,
// index and metaindex. A damaged footer or index block makes the table unreadable: openTable
// returns that corruption error, marked as a notTableError when the file is too short for a
// footer or lacks the table magic. A damaged metaindex is kept in metaErr, and the table is
// still usable without meta blocks.
func openTable(f vfs.File, name string, size int64) (*table, error) {
	t := &table{name: name, f: f, size: uint64(max(size, 0))}
	if size < sstable.FooterLen {
		return nil, &notTableError{t.corrupt(0, "file of %d bytes is too short for a table (a footer is %d bytes)", t.size, sstable.FooterLen)}
	}
	footOff := t.size - sstable.FooterLen
	foot := make([]byte, sstable.FooterLen)
	if err := t.readAt(foot, footOff, "footer"); err != nil {
		return nil, err
	}
	if m := coding.Fixed64(foot[sstable.FooterLen-8:]); m != sstable.Magic {
		return nil, &notTableError{t.corrupt(int64(footOff), "bad magic number %#016x, want %#016x: not a table, or the file is truncated", m, sstable.Magic)}
	}
	var n1, n2 int
	if t.metaindexH, n1 = decodeHandle(foot[:sstable.FooterLen-8]); n1 <= 0 {
		return nil, t.corrupt(int64(footOff), "footer: bad metaindex handle")
	}
	if t.indexH, n2 = decodeHandle(foot[n1 : sstable.FooterLen-8]); n2 <= 0 {
		return nil, t.corrupt(int64(footOff), "footer: bad index handle")
	}

	ib, _, err := t.readBlock(t.indexH, "index block")
	if err != nil {
		return nil, err
	}
	if err := t.walk(ib, t.indexH, "index block", func(e sstable.RawEntry) bool {
		ie := indexEntry{sep: bytes.Clone(e.Key)}
		h, n := decodeHandle(e.Value)
		switch {
		case n <= 0:
			ie.bad = t.corrupt(int64(t.indexH.Offset), "index entry %d: bad block handle", len(t.index))
		default:
			ie.h = h
			ie.bad = t.checkHandle(h, int64(t.indexH.Offset), "index entry %d: data block", len(t.index))
		}
		t.index = append(t.index, ie)
		return true
	}); err != nil {
		return nil, err
	}

	mb, _, err := t.readBlock(t.metaindexH, "metaindex block")
	if err == nil {
		err = t.walk(mb, t.metaindexH, "metaindex block", func(e sstable.RawEntry) bool {
			me := metaEntry{name: string(e.Key)}
			h, n := decodeHandle(e.Value)
			if n <= 0 {
				me.bad = t.corrupt(int64(t.metaindexH.Offset), "metaindex entry %q: bad block handle", me.name)
			} else {
				me.h = h
				me.bad = t.checkHandle(h, int64(t.metaindexH.Offset), "metaindex entry %q: block", me.name)
			}
			t.meta = append(t.meta, me)
			return true
		})
	}
	if err != nil {
		if !isCorruption(err) {
			return nil, err
		}
		t.meta = nil
		t.metaErr = err
	}
	return t, nil
}

func (t *table) corrupt(off int64, format string, args ...any) error {
	return dberr.Corruptf(t.name, off, format, args...)
}

func isCorruption(err error) bool { return errors.Is(err, dberr.ErrCorruption) }

// decodeHandle decodes a block handle: two varint64s. n <= 0 means b holds no valid handle.
func decodeHandle(b []byte) (sstable.BlockHandle, int) {
	off, n1 := coding.Varint64(b)
	if n1 <= 0 {
		return sstable.BlockHandle{}, -1
	}
	size, n2 := coding.Varint64(b[n1:])
	if n2 <= 0 {
		return sstable.BlockHandle{}, -1
	}
	return sstable.BlockHandle{Offset: off, Size: size}, n1 + n2
}

// checkHandle reports whether the block at h and its trailer end before the footer. at is the
// offset of the block holding the handle, and what (formatted with args) names the block, for
// the error.
func (t *table) checkHandle(h sstable.BlockHandle, at int64, what string, args ...any) error {
	end := h.Offset + h.Size
	limit := t.size - sstable.FooterLen
	if end < h.Offset || end+sstable.BlockTrailerLen < end || end+sstable.BlockTrailerLen > limit {
		return t.corrupt(at, "%s handle (offset %d, size %d) runs past the end of the blocks at %d",
			fmt.Sprintf(what, args...), h.Offset, h.Size, limit)
	}
	return nil
}

// readAt fills b from off, reporting a short file as corruption.
func (t *table) readAt(b []byte, off uint64, what string) error {
	n, err := t.f.ReadAt(b, int64(off))
	if n < len(b) {
		if err == nil || errors.Is(err, io.EOF) {
			return t.corrupt(int64(off), "truncated %s: read %d of %d bytes", what, n, len(b))
		}
		return fmt.Errorf("reading %s at offset %d: %w", what, off, err)
	}
	return nil
}

// readBlock reads the block at h: it checks the handle and the checksum and decompresses the
// contents. The result lives in the table's buffers until the next readBlock. typ is the
// trailer's compression type.
func (t *table) readBlock(h sstable.BlockHandle, what string) (contents []byte, typ byte, err error) {
	if err := t.checkHandle(h, int64(t.size-sstable.FooterLen), "%s", what); err != nil {
		return nil, 0, err
	}
	n := h.Size + sstable.BlockTrailerLen // bounded by the file's size: checkHandle passed
	if uint64(cap(t.raw)) < n {
		t.raw = make([]byte, n)
	}
	raw := t.raw[:n]
	if err := t.readAt(raw, h.Offset, what); err != nil {
		return nil, 0, err
	}
	contents, trailer := raw[:h.Size], raw[h.Size:]
	typ = trailer[0]
	want := crc.Unmask(coding.Fixed32(trailer[1:]))
	if got := crc.Extend(crc.Value(contents), trailer[:1]); got != want {
		return nil, typ, t.corrupt(int64(h.Offset), "%s: checksum mismatch: stored %#08x, computed %#08x", what, want, got)
	}
	switch typ {
	case blockTypeNone:
		return contents, typ, nil
	case blockTypeSnappy:
		dn, err := snappy.DecodedLen(contents)
		if err != nil {
			return nil, typ, t.corrupt(int64(h.Offset), "%s: snappy: %v", what, err)
		}
		if uint64(dn) > uint64(len(contents))*maxSnappyRatio {
			return nil, typ, t.corrupt(int64(h.Offset), "%s: snappy block of %d bytes claims %d decoded bytes", what, len(contents), dn)
		}
		if cap(t.dec) < dn {
			t.dec = make([]byte, dn)
		}
		out, err := snappy.Decode(t.dec[:dn], contents)
		if err != nil {
			return nil, typ, t.corrupt(int64(h.Offset), "%s: snappy: %v", what, err)
		}
		return out, typ, nil
	default:
		return nil, typ, t.corrupt(int64(h.Offset), "%s: unknown compression type %d", what, typ)
	}
}

// walk calls fn for each entry of a block read from h, after checking the block's structure
// (sstable.WalkBlock). Errors name the file and the block's offset.
func (t *table) walk(contents []byte, h sstable.BlockHandle, what string, fn func(sstable.RawEntry) bool) error {
	err := sstable.WalkBlock(contents, fn)
	if err == nil {
		return nil
	}
	reason := err.Error()
	var ce *dberr.CorruptionError
	if errors.As(err, &ce) {
		reason = ce.Reason
	}
	return t.corrupt(int64(h.Offset), "%s: %s", what, reason)
}

// dataBlock reads data block i and walks its entries. It returns the block's compression type
// and its decompressed size.
func (t *table) dataBlock(i int, fn func(sstable.RawEntry) bool) (typ byte, rawSize int, err error) {
	ie := &t.index[i]
	if ie.bad != nil {
		return 0, 0, ie.bad
	}
	what := fmt.Sprintf("data block %d", i)
	contents, typ, err := t.readBlock(ie.h, what)
	if err != nil {
		return typ, 0, err
	}
	return typ, len(contents), t.walk(contents, ie.h, what, fn)
}

// filterEntry returns the metaindex entry of the table's filter, if any.
func (t *table) filterEntry() (metaEntry, bool) {
	for _, m := range t.meta {
		if len(m.name) > len(filterMetaPrefix) && m.name[:len(filterMetaPrefix)] == filterMetaPrefix {
			return m, true
		}
	}
	return metaEntry{}, false
}

// detectKeys decides whether the table holds internal keys, from a sample: the index keys and
// the keys of the first data block. Tables in a DB hold internal keys; tables written directly
// with a table builder (tools, tests) hold whatever keys their writer chose. The sample says
// internal when every key parses as an internal key (long enough, kind SET or DEL), unless the
// keys are in bytewise order and not in internal-key order, as raw tables of, say, 8-byte
// big-endian numbers are. Keys that are in neither order and parse are internal keys of a
// custom comparator.
func (t *table) detectKeys() {
	const maxSample = 4096
	var sample [][]byte
	for i := range t.index {
		if len(sample) == maxSample {
			break
		}
		sample = append(sample, t.index[i].sep)
	}
	nIndex := len(sample)
	if len(t.index) > 0 {
		_, _, _ = t.dataBlock(0, func(e sstable.RawEntry) bool {
			sample = append(sample, bytes.Clone(e.Key))
			return len(sample) < nIndex+maxSample
		})
	}
	t.internal = sampleIsInternal(sample, nIndex)
}

// sampleIsInternal applies detectKeys' rule. The first nIndex keys are index keys, the rest
// data keys; each run is checked for order on its own.
func sampleIsInternal(sample [][]byte, nIndex int) bool {
	if len(sample) == 0 {
		return false
	}
	for _, k := range sample {
		if _, ok := keys.Parse(k); !ok {
			return false
		}
	}
	icmp := keys.NewInternalComparator(keys.Bytewise)
	internalOrder, bytewiseOrder := true, true
	for _, run := range [][][]byte{sample[:nIndex], sample[nIndex:]} {
		for i := 1; i < len(run); i++ {
			if icmp.Compare(run[i-1], run[i]) >= 0 {
				internalOrder = false
			}
			if bytes.Compare(run[i-1], run[i]) >= 0 {
				bytewiseOrder = false
			}
		}
	}
	return internalOrder || !bytewiseOrder
}
