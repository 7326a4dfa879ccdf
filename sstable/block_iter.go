package sstable

import "github.com/stratadb/strata/internal/dberr"

// blockIter walks the entries of one block. It is reused from block to block: init keeps its
// buffers, so moving through a table allocates nothing once the buffers have grown.
//
// Keys are rebuilt into kbuf, except that an entry with shared == 0 (every restart point)
// aliases the block itself. Moving backwards decodes the entries of one restart interval into
// a cache (cache, ckeys) once; Prev then steps through the cache, so a reverse scan decodes
// each entry once instead of rescanning its interval from the restart point at every step.
type blockIter struct {
	b   block
	ord *order

	file     string // for errors
	blockOff uint64 // offset of the block in the file, for errors

	off   int // offset of the current entry
	next  int // offset just past the current entry
	key   []byte
	val   []byte
	valid bool
	err   error

	kbuf     []byte // owned buffer that key is built in
	keyInBuf bool   // key aliases kbuf (rather than the block or the cache)

	cache []cachedEntry // entries of restart interval cri, from its start, in order
	ckeys []byte        // the keys of cache, back to back
	cri   int           // restart interval the cache was decoded from
	cpos  int           // index in cache of the current entry, or -1 if it is not in the cache
}

// cachedEntry is one decoded entry in the backward cache.
type cachedEntry struct {
	off, next  int // entry offset, offset just past it
	kStart     int // key = ckeys[kStart:kEnd]
	kEnd       int
	vOff, vLen int // value = block[vOff : vOff+vLen]
}

// init points the iterator at block b, unpositioned.
func (it *blockIter) init(b block, ord *order, file string, blockOff uint64) {
	it.b = b
	it.ord = ord
	it.file = file
	it.blockOff = blockOff
	it.valid = false
	it.err = nil
	it.key = nil
	it.val = nil
	it.keyInBuf = false
	it.cache = it.cache[:0]
	it.ckeys = it.ckeys[:0]
	it.cri = -1
	it.cpos = -1
}

func (it *blockIter) corrupt(p int, what string) bool {
	it.valid = false
	it.err = dberr.Corruptf(it.file, int64(it.blockOff), "block entry at %d: %s", p, what)
	return false
}

// decodeAt decodes the entry at p, whose shared prefix comes from it.key (the previous entry's
// key, or nothing at a restart point).
func (it *blockIter) decodeAt(p int) bool {
	shared, unshared, vlen, n := decodeEntry(it.b.data, p, it.b.restartsOff)
	if n == 0 {
		return it.corrupt(p, "bad lengths")
	}
	if shared > len(it.key) {
		return it.corrupt(p, "shared prefix longer than the previous key")
	}
	ks := p + n
	ke := ks + unshared
	switch {
	case shared == 0:
		it.key = it.b.data[ks:ke:ke]
		it.keyInBuf = false
	case it.keyInBuf:
		it.kbuf = append(it.kbuf[:shared], it.b.data[ks:ke]...)
		it.key = it.kbuf
	default:
		it.kbuf = append(append(it.kbuf[:0], it.key[:shared]...), it.b.data[ks:ke]...)
		it.key = it.kbuf
		it.keyInBuf = true
	}
	it.val = it.b.data[ke : ke+vlen : ke+vlen]
	it.off = p
	it.next = ke + vlen
	it.valid = true
	return true
}

// restartKey returns the key stored whole at restart point i.
func (it *blockIter) restartKey(i int) ([]byte, bool) {
	p := it.b.restart(i)
	if p >= it.b.restartsOff {
		it.corrupt(p, "restart point past the entries")
		return nil, false
	}
	shared, unshared, _, n := decodeEntry(it.b.data, p, it.b.restartsOff)
	if n == 0 || shared != 0 {
		it.corrupt(p, "bad restart entry")
		return nil, false
	}
	return it.b.data[p+n : p+n+unshared], true
}

// seekRestart begins a seek for target (see start) and returns the last restart point whose key
// is < target, or 0 if there is none (then lt is false). ok is false, the iterator invalid, when
// the block has no entries or a restart key is damaged.
func (it *blockIter) seekRestart(target []byte) (i int, lt bool, ok bool) {
	if !it.start() {
		return 0, false, false
	}
	lo, hi := 0, it.b.numRestarts-1
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		k, ok := it.restartKey(mid)
		if !ok {
			return 0, false, false
		}
		if it.ord.compare(k, target) < 0 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	k, ok := it.restartKey(lo)
	if !ok {
		return 0, false, false
	}
	return lo, it.ord.compare(k, target) < 0, true
}

func (it *blockIter) empty() bool { return it.b.restartsOff == 0 || it.b.numRestarts == 0 }

// start begins a positioning call: it clears the error and the cache position, and returns false,
// leaving the iterator invalid, when the block has no entries.
func (it *blockIter) start() bool {
	it.err = nil
	it.cpos = -1
	if it.empty() {
		it.valid = false
		return false
	}
	return true
}

// First moves to the first entry.
func (it *blockIter) First() bool {
	if !it.start() {
		return false
	}
	it.key = nil
	return it.decodeAt(0)
}

// Last moves to the last entry.
func (it *blockIter) Last() bool {
	if !it.start() {
		return false
	}
	return it.fillCache(it.b.numRestarts-1, it.b.restartsOff, nil, false)
}

// SeekGE moves to the first entry with key >= target.
func (it *blockIter) SeekGE(target []byte) bool {
	i, _, ok := it.seekRestart(target)
	if !ok {
		return false
	}
	it.key = nil
	if !it.decodeAt(it.b.restart(i)) {
		return false
	}
	for it.ord.compare(it.key, target) < 0 {
		if !it.Next() {
			return false
		}
	}
	return true
}

// SeekLT moves to the last entry with key < target.
func (it *blockIter) SeekLT(target []byte) bool {
	i, lt, ok := it.seekRestart(target)
	if !ok {
		return false
	}
	if !lt {
		// Every key is >= target.
		it.valid = false
		return false
	}
	// Restart point i+1 (if any) has a key >= target, so the answer is in interval i.
	return it.fillCache(i, it.intervalEnd(i), target, true)
}

// Next moves to the following entry.
func (it *blockIter) Next() bool {
	if !it.valid {
		return false
	}
	if it.cpos >= 0 && it.cpos+1 < len(it.cache) {
		it.fromCache(it.cpos + 1)
		return true
	}
	it.cpos = -1
	if it.next >= it.b.restartsOff {
		it.valid = false
		return false
	}
	return it.decodeAt(it.next)
}

// Prev moves to the preceding entry.
func (it *blockIter) Prev() bool {
	if !it.valid {
		return false
	}
	if it.cpos > 0 {
		it.fromCache(it.cpos - 1)
		return true
	}
	var ri int
	if it.cpos == 0 {
		// The current entry starts interval cri; the previous one ends interval cri-1.
		ri = it.cri - 1
	} else {
		ri = it.intervalOf(it.off)
		if start := it.b.restart(ri); start < it.off {
			return it.fillCache(ri, it.off, nil, false)
		}
		ri--
	}
	if ri < 0 {
		it.valid = false
		it.cpos = -1
		return false
	}
	return it.fillCache(ri, it.intervalEnd(ri), nil, false)
}

// intervalOf returns the restart interval holding the entry at off: the last restart <= off.
func (it *blockIter) intervalOf(off int) int {
	lo, hi := 0, it.b.numRestarts-1
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		if it.b.restart(mid) <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// intervalEnd returns the offset where restart interval i ends.
func (it *blockIter) intervalEnd(i int) int {
	if i+1 < it.b.numRestarts {
		return it.b.restart(i + 1)
	}
	return it.b.restartsOff
}

// fillCache decodes the entries of restart interval ri that start before limit into the cache
// and moves to the last of them; with bounded set it stops before the first key >= target and
// moves to the entry before it. It returns false (not valid) if there is no such entry.
func (it *blockIter) fillCache(ri, limit int, target []byte, bounded bool) bool {
	it.cache = it.cache[:0]
	it.ckeys = it.ckeys[:0]
	it.cri = ri
	it.cpos = -1
	data := it.b.data
	p := it.b.restart(ri)
	if limit > it.b.restartsOff || p >= limit {
		return it.corrupt(p, "bad restart interval")
	}
	prevStart, prevEnd := 0, 0
	for p < limit {
		shared, unshared, vlen, n := decodeEntry(data, p, it.b.restartsOff)
		if n == 0 {
			return it.corrupt(p, "bad lengths")
		}
		if shared > prevEnd-prevStart {
			return it.corrupt(p, "shared prefix longer than the previous key")
		}
		ks := p + n
		kStart := len(it.ckeys)
		it.ckeys = append(it.ckeys, it.ckeys[prevStart:prevStart+shared]...)
		it.ckeys = append(it.ckeys, data[ks:ks+unshared]...)
		kEnd := len(it.ckeys)
		if bounded && it.ord.compare(it.ckeys[kStart:kEnd], target) >= 0 {
			it.ckeys = it.ckeys[:kStart]
			break
		}
		next := ks + unshared + vlen
		it.cache = append(it.cache, cachedEntry{off: p, next: next, kStart: kStart, kEnd: kEnd, vOff: ks + unshared, vLen: vlen})
		prevStart, prevEnd = kStart, kEnd
		p = next
	}
	if len(it.cache) == 0 {
		it.valid = false
		return false
	}
	it.fromCache(len(it.cache) - 1)
	return true
}

// fromCache makes cache entry i the current entry.
func (it *blockIter) fromCache(i int) {
	e := &it.cache[i]
	it.off, it.next = e.off, e.next
	it.key = it.ckeys[e.kStart:e.kEnd:e.kEnd]
	it.keyInBuf = false
	it.val = it.b.data[e.vOff : e.vOff+e.vLen : e.vOff+e.vLen]
	it.cpos = i
	it.valid = true
}
