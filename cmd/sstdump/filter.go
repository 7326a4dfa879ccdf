package main

import (
	"bytes"
	"strings"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/sstable"
)

// A filter block holds one filter per 2 KiB window of data-block offsets (docs/format/table.md):
//
//	filterblock := filter* offset:fixed32{num} offsets_start:fixed32 base_lg:uint8
//
// Filter i covers the data blocks whose offset o has o >> base_lg == i.

// filterBlock is a filter block whose offsets have been checked.
type filterBlock struct {
	name     string // policy name, without "filter."
	data     []byte
	offStart int
	num      int
	baseLg   uint8
	policy   sstable.FilterPolicy // nil when sstdump does not know the policy
}

// bloomQuery answers MayContain for leveldb's bloom filter bits; the bits per key are only used
// to build filters, never to query them.
var bloomQuery = sstable.NewBloomPolicy(sstable.DefaultBloomBitsPerKey)

// parseFilterBlock checks the structure of the filter block data, read from h, of policy name.
func parseFilterBlock(t *table, name string, data []byte, h sstable.BlockHandle) (*filterBlock, error) {
	n := len(data)
	if n < 5 {
		return nil, t.corrupt(int64(h.Offset), "filter block of %d bytes is too short", n)
	}
	start := coding.Fixed32(data[n-5:])
	if uint64(start) > uint64(n-5) {
		return nil, t.corrupt(int64(h.Offset), "filter block: offsets start %d past the block (%d bytes)", start, n)
	}
	if (n-5-int(start))%4 != 0 {
		return nil, t.corrupt(int64(h.Offset), "filter block: offsets array of %d bytes is not a multiple of 4", n-5-int(start))
	}
	f := &filterBlock{name: name, data: bytes.Clone(data), offStart: int(start), num: (n - 5 - int(start)) / 4, baseLg: data[n-1]}
	prev := uint32(0)
	for i := 0; i < f.num; i++ {
		o := coding.Fixed32(data[f.offStart+4*i:])
		if o < prev || o > start {
			return nil, t.corrupt(int64(h.Offset), "filter block: filter %d offset %d out of order or past the filters", i, o)
		}
		prev = o
	}
	if name == sstable.BloomFilterName || name == legacyBloomName {
		f.policy = bloomQuery
	}
	return f, nil
}

// filterFor returns the filter covering the data block at blockOff, and false when there is none
// (a reader then assumes every key may be there).
func (f *filterBlock) filterFor(blockOff uint64) ([]byte, bool) {
	var i uint64
	if f.baseLg < 64 {
		i = blockOff >> f.baseLg
	}
	if i >= uint64(f.num) {
		return nil, false
	}
	at := f.offStart + 4*int(i)
	s, e := coding.Fixed32(f.data[at:]), coding.Fixed32(f.data[at+4:])
	return f.data[s:e], true
}

// loadFilter reads the table's filter block, if it has one. It returns nil and no error when the
// table has none.
func loadFilter(t *table) (*filterBlock, error) {
	m, ok := t.filterEntry()
	if !ok {
		return nil, nil
	}
	if m.bad != nil {
		return nil, m.bad
	}
	data, _, err := t.readBlock(m.h, "filter block")
	if err != nil {
		return nil, err
	}
	return parseFilterBlock(t, strings.TrimPrefix(m.name, filterMetaPrefix), data, m.h)
}
