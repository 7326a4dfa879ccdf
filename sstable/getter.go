package sstable

import "github.com/stratadb/strata/internal/dberr"

// Getter looks up many keys in one table, given in ascending order: the batched form of
// Reader.Get. Each Get answers what Reader.Get would for its key (but see contract 6), and the
// Getter only ever moves forward. It remembers the index entry the previous key fell in and
// gallops ahead from there, keeps the data block it last decoded, and inside that block
// continues from the entry it stopped at (skipping whole restart intervals by binary search
// when the next key is further on). So a sorted batch reads the index once, asks the filter at
// most once per key and decodes each data block at most once, however many of its keys fall in
// the block.
//
// Contract:
//
//  1. Reset binds the Getter to a Reader and ReadOptions; the zero Getter must be Reset first.
//  2. The keys given to Get after a Reset must not decrease in the Reader's order (equal keys
//     are fine). A smaller key gives an unspecified answer (never a panic): Reset to go back.
//  3. The k and v that Get returns alias the block or the Getter's buffers: they are valid until
//     the next Get or Reset, and until the Reader is closed; they must not be modified.
//  4. After Get returns an error other than dberr.ErrNotFound, the Getter must be Reset before
//     it is used again.
//  5. A Getter belongs to one goroutine; any number of Getters and Iterators may use one Reader
//     at once. A Getter's buffers are kept across Resets, so reusing one allocates nothing once
//     they have grown; Get allocates nothing for blocks that are cached or are uncompressed in
//     a mapped file.
//  6. The filter only saves block reads, so a key whose block the Getter holds decoded already
//     is looked up in the block without asking it: where the filter would have ruled the key
//     out, and Reader.Get returns dberr.ErrNotFound, Get returns the block's first entry after
//     the key instead (or ErrNotFound when there is none), never the key itself, since the
//     table does not hold it. A caller checks the key it got, as it does with Reader.Get.
type Getter struct {
	r  *Reader
	ro ReadOptions

	idx    int // index entry the previous key fell in, or -1 before the first Get
	loaded int // index entry whose block blk holds, or -1
	// ri is the restart interval of blk's entry, or -1 while blk is unpositioned in its block.
	// Positioned with blk invalid means the block holds nothing at or after the previous key.
	ri      int
	blk     blockIter
	scratch blockScratch
}

// Reset makes g look keys up in r with ro, from the start of the table. It keeps g's buffers.
func (g *Getter) Reset(r *Reader, ro ReadOptions) {
	g.r, g.ro = r, ro
	g.idx, g.loaded, g.ri = -1, -1, -1
	g.scratch.winOf = nil // the window was another Reader's, or is stale
	g.scratch.aheadMax = maxGetterReadAhead
	g.blk.b = block{}
	g.blk.key, g.blk.val, g.blk.valid, g.blk.err = nil, nil, false, nil
}

// Release drops g's references to the Reader and its last block, keeping its buffers; Reset
// before using it again. Call it when a Getter is kept (in a pool, say) after its Reader may
// have closed.
func (g *Getter) Release() { g.Reset(nil, ReadOptions{}) }

// Get finds the first entry at or after key in the one data block that may hold key, as
// Reader.Get does: dberr.ErrNotFound when the filter rules the key out (unless the block is
// decoded already: contract 6) or that block holds no entry at or after key. key must sort at
// or after the key of the previous Get (contract 2).
func (g *Getter) Get(key []byte) (k, v []byte, err error) {
	r := g.r
	if r.closed.Load() {
		return nil, nil, dberr.ErrClosed
	}
	n := len(r.index.ents)
	i := g.idx
	if i < n {
		var kp uint64
		if r.ord.prefixKind != prefixNone {
			kp = r.ord.prefix(key)
		}
		if i < 0 || r.index.less(&r.ord, i, key, kp) {
			i = r.index.seekGEFrom(&r.ord, key, kp, i+1)
		}
		g.idx = i
	}
	if i == n {
		return nil, nil, dberr.ErrNotFound
	}
	if g.loaded != i {
		if r.filter.data != nil && !r.filter.mayContain(r.index.ents[i].h.Offset, r.filterKey(key)) {
			return nil, nil, dberr.ErrNotFound
		}
		if err := g.load(i); err != nil {
			return nil, nil, err
		}
	}
	if !g.seekBlock(key) {
		if g.blk.err != nil {
			g.loaded = -1
			return nil, nil, g.blk.err
		}
		return nil, nil, dberr.ErrNotFound
	}
	return g.blk.key, g.blk.val, nil
}

// load decodes data block i into blk, unpositioned.
func (g *Getter) load(i int) error {
	r := g.r
	g.loaded = -1
	h := r.index.ents[i].h
	contents, err := r.dataBlock(i, h, g.ro, &g.scratch)
	if err != nil {
		return err
	}
	b, ok := parseBlock(contents)
	if !ok {
		return r.corruptf(h.Offset, "block: bad restart array")
	}
	g.blk.init(b, &r.ord, r.name, h.Offset)
	g.loaded, g.ri = i, -1
	if g.blk.empty() {
		g.ri = 0 // positioned and invalid: nothing in the block
	}
	return nil
}

// seekBlock moves blk forward to the first entry >= key, never backwards. It returns false
// when the block has no such entry, or on damage (blk.err set).
func (g *Getter) seekBlock(key []byte) bool {
	it := &g.blk
	ord := it.ord
	if g.ri >= 0 {
		if !it.valid {
			return false // the whole block sorts before an earlier key
		}
		if ord.compare(it.key, key) >= 0 {
			return true
		}
	}
	// The answer lies past the current entry (anywhere, when unpositioned). If the restart
	// point after the current interval still sorts before key, jump: binary search for the
	// last restart point before key among the ones ahead.
	if lo, nr := g.ri+1, it.b.numRestarts; lo < nr {
		k0, ok := it.restartKey(lo)
		if !ok {
			return false
		}
		if ord.compare(k0, key) < 0 {
			hi := nr - 1
			for lo < hi {
				mid := int(uint(lo+hi+1) >> 1)
				km, ok := it.restartKey(mid)
				if !ok {
					return false
				}
				if ord.compare(km, key) < 0 {
					lo = mid
				} else {
					hi = mid - 1
				}
			}
			it.key = nil
			if !it.decodeAt(it.b.restart(lo)) {
				return false
			}
			g.ri = lo
		} else if g.ri < 0 {
			// Unpositioned, and the first entry is already >= key.
			it.key = nil
			g.ri = 0
			return it.decodeAt(0)
		}
	}
	// Step through the current interval (and, from the last restart point, to the end).
	for ord.compare(it.key, key) < 0 {
		if !it.Next() {
			return false
		}
		if g.ri+1 < it.b.numRestarts && it.off == it.b.restart(g.ri+1) {
			g.ri++
		}
	}
	return true
}

// less reports whether the separator of index entry i sorts before key, whose order.prefix is
// kp (ignored when the order has no prefixes).
func (t *indexTable) less(o *order, i int, key []byte, kp uint64) bool {
	if o.prefixKind != prefixNone {
		if ep := t.ents[i].prefix; ep != kp {
			return ep < kp
		}
	}
	return o.compare(t.key(i), key) < 0
}

// seekGEFrom returns the first entry at or after lo whose separator is >= key, or len(ents),
// given that every entry before lo is < key; kp is key's order.prefix (see less). It gallops
// forward from lo (1, 2, 4, ... entries ahead) and then searches the last step in halves, so a
// key near the previous one costs a comparison or two and a far one O(log distance).
func (t *indexTable) seekGEFrom(o *order, key []byte, kp uint64, lo int) int {
	n := len(t.ents)
	hi := lo
	for step := 1; hi < n && t.less(o, hi, key, kp); step <<= 1 {
		lo = hi + 1
		hi += step
	}
	hi = min(hi, n)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.less(o, mid, key, kp) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
