package sstable

import (
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
)

// The filter block holds one filter per 2 KiB window of data-block offsets (base lg 11):
//
//	filterblock := filter* offset:fixed32{num} offsets_start:fixed32 base_lg:uint8
//
// Filter i covers the keys of every data block whose offset o has o >> base_lg == i, and spans
// [offset[i], offset[i+1]) of the block, where the offset after the last filter is
// offsets_start itself. Windows without a block start get an empty filter (two equal
// offsets), which matches nothing. The block is written uncompressed, with the usual trailer.
//
// The writer follows leveldb's FilterBlockBuilder so the bytes are the same: after each data
// block is written at offset o (and at offset 0 when the table starts), it emits filters until
// it has one for every window before o >> base_lg, the first of them holding the keys added
// since the previous block; Finish emits a last filter only if keys are still pending.

// filterWriter builds a filter block.
type filterWriter struct {
	policy  FilterPolicy
	keyFn   func([]byte) []byte
	keys    []byte   // pending keys, back to back
	starts  []int    // start of each pending key in keys
	tmp     [][]byte // scratch: the pending keys as slices
	result  []byte   // filters so far
	offsets []uint32 // start of each filter in result
}

func newFilterWriter(p FilterPolicy, keyFn func([]byte) []byte) *filterWriter {
	return &filterWriter{policy: p, keyFn: keyFn}
}

// startBlock is called with the offset of the data block about to be started.
func (w *filterWriter) startBlock(offset uint64) {
	for idx := offset >> filterBaseLg; idx > uint64(len(w.offsets)); {
		w.generate()
	}
}

func (w *filterWriter) addKey(key []byte) {
	k := w.keyFn(key)
	w.starts = append(w.starts, len(w.keys))
	w.keys = append(w.keys, k...)
}

func (w *filterWriter) generate() {
	w.offsets = append(w.offsets, uint32(len(w.result)))
	if len(w.starts) == 0 {
		return // an empty filter
	}
	w.tmp = w.tmp[:0]
	for i, s := range w.starts {
		e := len(w.keys)
		if i+1 < len(w.starts) {
			e = w.starts[i+1]
		}
		w.tmp = append(w.tmp, w.keys[s:e:e])
	}
	w.result = w.policy.AppendFilter(w.result, w.tmp)
	w.keys = w.keys[:0]
	w.starts = w.starts[:0]
	clear(w.tmp)
}

// finish returns the filter block contents.
func (w *filterWriter) finish() []byte {
	if len(w.starts) > 0 {
		w.generate()
	}
	start := uint32(len(w.result))
	for _, o := range w.offsets {
		w.result = coding.AppendFixed32(w.result, o)
	}
	w.result = coding.AppendFixed32(w.result, start)
	return append(w.result, filterBaseLg)
}

// FilterBlock is a decoded filter block: the filters of a table, each covering the data blocks
// that start in one window of file offsets. It aliases the bytes it was decoded from. The zero
// FilterBlock holds no filters.
type FilterBlock struct {
	data     []byte // the whole block; nil in the zero FilterBlock
	offStart int    // start of the offsets array
	num      int    // number of filters
	baseLg   uint8
}

// DecodeFilterBlock checks the structure of a filter block's contents (as a block read returns
// them, without trailer) and returns the block decoded. It checks that the block holds its
// 5-byte tail, that offsets_start lies inside the block and leaves whole fixed32 offsets after
// it, and that the offsets never decrease nor pass offsets_start, so that Filter never indexes
// outside data. Damage is a corruption error naming file and off (the block's offset in the
// file). The result aliases data. It checks nothing about the filters' bytes: any bytes are a
// filter that a FilterPolicy must query without panicking.
func DecodeFilterBlock(data []byte, file string, off uint64) (FilterBlock, error) {
	n := len(data)
	if n < 5 {
		return FilterBlock{}, dberr.Corruptf(file, int64(off), "filter block of %d bytes is too short", n)
	}
	start := coding.Fixed32(data[n-5:])
	if uint64(start) > uint64(n-5) {
		return FilterBlock{}, dberr.Corruptf(file, int64(off), "filter offsets start %d past the block (%d bytes)", start, n)
	}
	if (n-5-int(start))%4 != 0 {
		return FilterBlock{}, dberr.Corruptf(file, int64(off), "filter offsets array of %d bytes is not a multiple of 4", n-5-int(start))
	}
	f := FilterBlock{data: data, offStart: int(start), num: (n - 5 - int(start)) / 4, baseLg: data[n-1]}
	prev := uint32(0)
	for i := 0; i < f.num; i++ {
		o := coding.Fixed32(data[f.offStart+4*i:])
		if o < prev || o > start {
			return FilterBlock{}, dberr.Corruptf(file, int64(off), "filter %d offset %d out of order or past the filters", i, o)
		}
		prev = o
	}
	return f, nil
}

// Len returns the number of filters in the block.
func (f *FilterBlock) Len() int { return f.num }

// Filter returns the filter covering the data block that starts at blockOff, and false when the
// block has none: blockOff lies past the last filter's window, which a valid table never has,
// and a reader then assumes that every key may be in the block. An empty filter (a window in
// which no block starts) is returned with true; it matches nothing.
func (f *FilterBlock) Filter(blockOff uint64) ([]byte, bool) {
	var i uint64
	if f.baseLg < 64 {
		i = blockOff >> f.baseLg
	}
	if i >= uint64(f.num) {
		return nil, false
	}
	at := f.offStart + 4*int(i)
	// For the last filter, the word after its offset is offsets_start: its end.
	s, e := coding.Fixed32(f.data[at:]), coding.Fixed32(f.data[at+4:])
	return f.data[s:e], true
}

// filterReader answers a Reader's queries against its table's filter block.
type filterReader struct {
	policy FilterPolicy
	FilterBlock
}

// parseFilter decodes the filter block data (DecodeFilterBlock) to be queried with p.
func parseFilter(data []byte, p FilterPolicy, file string, off uint64) (filterReader, error) {
	fb, err := DecodeFilterBlock(data, file, off)
	if err != nil {
		return filterReader{}, err
	}
	return filterReader{policy: p, FilterBlock: fb}, nil
}

// mayContain reports whether the data block at blockOff may hold a key whose filter key is key.
// Without a filter, or for a block past the filters (which a valid table never has), the
// answer is yes.
func (f *filterReader) mayContain(blockOff uint64, key []byte) bool {
	filter, ok := f.Filter(blockOff)
	if !ok {
		return true
	}
	if bp, ok := f.policy.(*bloomPolicy); ok && bp != nil {
		return bloomMayContain(filter, key) // skip the interface call on the hot path
	}
	return f.policy.MayContain(filter, key)
}

// BuiltinFilterPolicy returns the policy that queries filters written under name (a metaindex
// key without FilterMetaPrefix), for readers that take the policy from the table rather than
// from their options: leveldb's bloom filter for BloomFilterName and for LegacyBloomFilterName
// (goleveldb's name for the same bits), and nil for any other name.
func BuiltinFilterPolicy(name string) FilterPolicy {
	if name == BloomFilterName || name == LegacyBloomFilterName {
		return NewBloomPolicy(DefaultBloomBitsPerKey) // the bits per key only matter to building
	}
	return nil
}
