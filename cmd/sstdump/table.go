package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// table is a table file as sstdump reads it: through sstable.RawReader, which checks what the
// format defines and needs no comparator, so that a table written with a comparator sstdump
// does not know is still dumped (sstable.Reader refuses it). openTable reads the footer, the
// index block and the metaindex block; data blocks are then read one at a time into the
// RawReader's buffers, so a table of any size is walked in the memory of its index and one
// block. sstdump tells apart what makes the whole table unreadable (the footer, the index) from
// what spoils one block or one index entry, so that check can carry on.
//
// Damage is reported as a *dberr.CorruptionError naming the file and an offset, and failures
// of the file itself as other errors.
type table struct {
	name string
	r    *sstable.RawReader
	size uint64

	metaindexH, indexH sstable.BlockHandle
	index              []indexEntry
	meta               []metaEntry
	internal           bool // keys are internal keys (user key + 8-byte trailer)

	// metaErr is the damage that made the metaindex unreadable, if any: the table is then read
	// without its meta blocks (the filter).
	metaErr error
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

// openTable opens the table in f (size bytes, named name in messages) and reads its footer,
// index and metaindex. A damaged footer or index block makes the table unreadable: openTable
// returns that corruption error, marked as a notTableError when the file is too short for a
// footer or lacks the table magic. A damaged metaindex is kept in metaErr, and the table is
// still usable without meta blocks.
func openTable(f vfs.File, name string, size int64) (*table, error) {
	t := &table{name: name, r: sstable.NewRawReader(f, name, size), size: uint64(max(size, 0))}
	if size < sstable.FooterLen {
		return nil, &notTableError{t.corrupt(0, "file of %d bytes is too short for a table (a footer is %d bytes)", t.size, sstable.FooterLen)}
	}
	ft, err := t.r.ReadFooter()
	if err != nil {
		if errors.Is(err, sstable.ErrNotTable) {
			return nil, &notTableError{err}
		}
		return nil, err
	}
	t.metaindexH, t.indexH = ft.Metaindex, ft.Index
	footOff := t.size - sstable.FooterLen

	ib, err := t.readBlock(t.indexH, footOff, "index block")
	if err != nil {
		return nil, err
	}
	if err := ib.Walk(func(e sstable.RawEntry) bool {
		h, bad := t.entryHandle(e.Value, t.indexH, "index entry %d", "data block", len(t.index))
		t.index = append(t.index, indexEntry{sep: bytes.Clone(e.Key), h: h, bad: bad})
		return true
	}); err != nil {
		return nil, err
	}

	mb, err := t.readBlock(t.metaindexH, footOff, "metaindex block")
	if err == nil {
		err = mb.Walk(func(e sstable.RawEntry) bool {
			name := string(e.Key)
			h, bad := t.entryHandle(e.Value, t.metaindexH, "metaindex entry %q", "block", name)
			t.meta = append(t.meta, metaEntry{name: name, h: h, bad: bad})
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

// entryHandle decodes the handle that an entry of the index or metaindex block in holds and
// checks it against the file. Damage is reported at the block's offset, naming the entry
// (entry, formatted with arg) and the block the handle points at (what).
func (t *table) entryHandle(v []byte, in sstable.BlockHandle, entry, what string, arg any) (sstable.BlockHandle, error) {
	h, n := sstable.DecodeBlockHandle(v)
	if n <= 0 {
		return h, t.corrupt(int64(in.Offset), entry+": bad block handle", arg)
	}
	return h, t.r.CheckHandle(h, in.Offset, fmt.Sprintf(entry+": "+what, arg))
}

// readBlock reads the block at h, which the structure at offset at (the footer, the
// metaindex) points to: the handle is checked and reported there, then the block is read and
// checked (sstable.RawReader.ReadBlock). The result lives in the RawReader's buffers until the
// next read.
func (t *table) readBlock(h sstable.BlockHandle, at uint64, what string) (sstable.RawBlock, error) {
	if err := t.r.CheckHandle(h, at, what); err != nil {
		return sstable.RawBlock{}, err
	}
	return t.r.ReadBlock(h, what)
}

// dataBlock reads data block i and walks its entries. It returns how the block is stored and
// its decompressed size.
func (t *table) dataBlock(i int, fn func(sstable.RawEntry) bool) (c sstable.Compression, rawSize int, err error) {
	ie := &t.index[i]
	if ie.bad != nil {
		return 0, 0, ie.bad
	}
	b, err := t.r.ReadBlock(ie.h, fmt.Sprintf("data block %d", i))
	if err != nil {
		return 0, 0, err
	}
	return b.Compression, len(b.Contents), b.Walk(fn)
}

// filterEntry returns the metaindex entry of the table's filter, if any.
func (t *table) filterEntry() (metaEntry, bool) {
	for _, m := range t.meta {
		if len(m.name) > len(sstable.FilterMetaPrefix) && strings.HasPrefix(m.name, sstable.FilterMetaPrefix) {
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
