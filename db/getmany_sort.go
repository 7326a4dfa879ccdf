package db

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"

	"github.com/stratadb/strata/internal/keys"
)

// The order of a batched lookup: GetMany sorts a permutation of the batch (never the caller's
// slice), as entries of eight-byte key prefix and index.
//
// For a comparator other than bytewise it sorts the indexes with the comparator. For the
// bytewise order it first strips the prefix all keys of the batch share, takes the next eight
// bytes of each key (big-endian, zero-padded) as a number, sorts the entries by that number
// with a radix sort (radixSort: one pass in place on the most significant byte that varies,
// then each bucket from its least significant byte), and then sorts each run of equal numbers
// by the rest of the keys. The radix passes compare no keys, so they cost
// a few nanoseconds per key and pass where a comparison sort costs log2(n) key comparisons (20
// at a million keys), each a cache miss to the key bytes. BenchmarkGetManySort,
// wall time a key at 1Mi keys (a 2-core machine): names like the usernames command's sort in 36
// ns (28 on both cores), random 16-byte keys in 48 (39), the benchmarks' decimal keys in 48,
// against 653, 491 and 549 ns for slices.SortFunc with bytes.Compare. The radix sort before this
// one, from the least significant byte over the whole batch, took about as long (35 ns for the
// names, 28-33 for the others) but a scratch as large as the batch, which a batch of a hundred
// million bytes' worth of keys pays for in fewer keys per batch.

// sortEnt is one key of a batch being sorted: its first sixteen bytes past the common prefix
// (big-endian, zero-padded), of which the radix sort orders by the first eight, its index in
// the batch, and its length past the common prefix (capped). A key of at most sixteen bytes
// past the prefix is whole in its entry: such keys order by (pfx, sfx, n) as they do bytewise
// (zero padding sorts a key before every longer key it begins), and the lookup builds them
// from the entry without reading the caller's memory again.
type sortEnt struct {
	pfx, sfx uint64
	idx      uint32
	n        uint32
}

// entryKeyMax is the longest key past the common prefix that a sortEnt holds whole.
const entryKeyMax = 16

// whole reports whether e holds its key whole (past the common prefix).
func (e sortEnt) whole() bool { return e.n <= entryKeyMax }

// radixMin is the batch size from which the bytewise sort is a radix sort: below it a
// comparison sort of the entries is as fast, and the radix sort's 8 KiB of counters is not
// worth clearing.
const radixMin = 256

// sortBatch fills ents with the order of batch under the user comparator ucmp (ascending;
// equal keys by index) and returns it, and tmp, grown as needed and used as scratch: both for
// reuse. skip is the length of the prefix all keys share (commonPrefixLen) under the bytewise
// order, ignored under others. The scratch is smaller than the batch (see radixSort); when mem
// is not nil, the scratch comes from it instead (called at most once) and tmp is returned as it
// was. A bytewise sort of a large batch (from radixParallelMin keys) runs on up to ways
// goroutines.
func sortBatch(batch [][]byte, ucmp keys.Comparator, skip int, ents, tmp []sortEnt, ways int, mem func(n int) []sortEnt) (sorted, scratch []sortEnt) {
	n := len(batch)
	ents = slices.Grow(ents[:0], n)[:n]
	if !keys.IsBytewise(ucmp) {
		for i := range ents {
			ents[i] = sortEnt{idx: uint32(i), n: math.MaxUint32} // no key whole
		}
		slices.SortFunc(ents, func(a, b sortEnt) int {
			if c := ucmp.Compare(batch[a.idx], batch[b.idx]); c != 0 {
				return c
			}
			return cmpIdx(a, b)
		})
		return ents, tmp
	}
	for i, k := range batch {
		k = k[skip:]
		e := sortEnt{pfx: prefix8(k), idx: uint32(i), n: uint32(min(uint64(len(k)), math.MaxUint32))}
		if len(k) > 8 {
			e.sfx = prefix8(k[8:])
		}
		ents[i] = e
	}
	if n < radixMin {
		slices.SortFunc(ents, func(a, b sortEnt) int {
			if c := cmp.Compare(a.pfx, b.pfx); c != 0 {
				return c
			}
			if c := bytes.Compare(batch[a.idx], batch[b.idx]); c != 0 {
				return c
			}
			return cmpIdx(a, b)
		})
		return ents, tmp
	}
	if n < radixParallelMin {
		ways = 1
	}
	if scratch := radixSort(ents, tmp, ways, mem); mem == nil {
		tmp = scratch
	}
	// Entries with equal numbers (keys equal in their eight bytes after the common prefix) are
	// together, in no particular order (the first pass is not stable). Order them by the whole
	// key, then by index: from the entries alone when every key of the run is whole in its
	// entry, by their bytes otherwise.
	for i := 0; i < n; {
		j, whole := i+1, ents[i].whole()
		for j < n && ents[j].pfx == ents[i].pfx {
			whole = whole && ents[j].whole()
			j++
		}
		switch {
		case j-i == 1:
		case whole:
			slices.SortFunc(ents[i:j], cmpWhole)
		default:
			slices.SortFunc(ents[i:j], func(a, b sortEnt) int {
				if c := bytes.Compare(batch[a.idx][skip:], batch[b.idx][skip:]); c != 0 {
					return c
				}
				return cmpIdx(a, b)
			})
		}
		i = j
	}
	return ents, tmp
}

// cmpWhole orders entries that hold their keys whole, and have the same pfx, by key, then by
// index.
func cmpWhole(a, b sortEnt) int {
	if c := cmp.Compare(a.sfx, b.sfx); c != 0 {
		return c
	}
	if c := cmp.Compare(a.n, b.n); c != 0 {
		return c
	}
	return cmpIdx(a, b)
}

func cmpIdx(a, b sortEnt) int { return cmp.Compare(a.idx, b.idx) }

// radixParallelMin is the batch size from which the sort splits its work across goroutines.
const radixParallelMin = 1 << 18

// radixSort sorts ents by their numbers, not stably, using scratch (grown as needed and returned
// for reuse, when not nil; mem allocates it otherwise) and up to ways goroutines. It first
// parts the entries in place by the most significant byte that tells them apart, as a radix
// sort from the top does (it counts the entries of each byte value, then moves each entry
// straight to its bucket's next free place, taking the one it displaces along, so that each
// moves once), then sorts each bucket by the bytes below with the stable sort from the least
// significant byte (lsdSort), whose passes read and write in sequence. So the scratch holds the
// largest bucket, not the batch: for keys spread over many first bytes, a small fraction of it.
// (When one byte value holds most entries, it sorts them all from the least significant byte,
// with a scratch as long as ents.)
// With ways > 1 the buckets are sorted on that many goroutines, each taking a run of buckets
// of about the same number of entries and a scratch for the largest of them.
func radixSort(ents, scratch []sortEnt, ways int, mem func(n int) []sortEnt) []sortEnt {
	n := uint32(len(ents))
	var counts [8][256]uint32
	for _, e := range ents {
		p := e.pfx
		for d := range counts {
			counts[d][byte(p>>(8*d))]++
		}
	}
	top := 7
	for top >= 0 && counts[top][byte(ents[0].pfx>>(8*top))] == n {
		top--
	}
	if top < 0 {
		return scratch // every number is the same
	}
	most := uint32(0)
	for _, c := range counts[top] {
		most = max(most, c)
	}
	if most > n/2 {
		// Most entries share their top byte: a first pass would save little scratch and cost
		// a pass; sort them all from the least significant byte.
		scratch = scratchOf(scratch, int(n), mem)
		lsdSortCounted(ents, scratch, top+1, &counts)
		return scratch
	}
	shift := 8 * uint(top)
	var next, ends [256]uint32
	var sum uint32
	for b, c := range counts[top] {
		next[b] = sum
		sum += c
		ends[b] = sum
	}
	for b := range ends {
		for next[b] < ends[b] {
			e := ents[next[b]]
			for d := byte(e.pfx >> shift); d != byte(b); d = byte(e.pfx >> shift) {
				e, ents[next[d]] = ents[next[d]], e
				next[d]++
			}
			ents[next[b]] = e
			next[b]++
		}
	}
	if top == 0 {
		return scratch
	}
	if ways <= 1 {
		scratch = scratchOf(scratch, int(most), mem)
		sortBuckets(ents, scratch, &ends, 0, 256, top)
		return scratch
	}
	return sortBucketsParallel(ents, scratch, counts[top], ends, top, min(ways, 256), mem)
}

// scratchOf returns n entries of scratch: from mem if not nil, else scratch grown.
func scratchOf(scratch []sortEnt, n int, mem func(n int) []sortEnt) []sortEnt {
	if mem != nil {
		if n == 0 {
			return nil
		}
		return mem(n)
	}
	return slices.Grow(scratch[:0], n)[:n]
}

// sortBuckets sorts buckets [from, to) of ents, each of whose numbers share their bytes from
// top upwards, by the bytes below top; bucket b is ents[ends[b-1]:ends[b]], and tmp holds the
// largest of them.
func sortBuckets(ents, tmp []sortEnt, ends *[256]uint32, from, to, top int) {
	start := uint32(0)
	if from > 0 {
		start = ends[from-1]
	}
	for b := from; b < to; b++ {
		if ends[b]-start > 1 {
			lsdSort(ents[start:ends[b]], tmp, top)
		}
		start = ends[b]
	}
}

// sortBucketsParallel is sortBuckets for every bucket, on ways goroutines, each taking a run of
// buckets of about the same number of entries, cut at the entries' quantiles, and a part of the
// scratch that holds its largest bucket. counts holds each bucket's length. It returns the
// scratch.
func sortBucketsParallel(ents, scratch []sortEnt, counts, ends [256]uint32, top, ways int, mem func(n int) []sortEnt) []sortEnt {
	n := uint32(len(ents))
	cuts := make([]int, ways+1)
	cuts[ways] = 256
	for w, b := 1, 0; w < ways; w++ {
		target := uint32(uint64(n) * uint64(w) / uint64(ways))
		for b < 256 && ends[b] <= target {
			b++
		}
		cuts[w] = max(b, cuts[w-1])
	}
	parts := make([]int, ways+1) // run w's scratch is [parts[w], parts[w+1])
	for w := range ways {
		most := uint32(0)
		for b := cuts[w]; b < cuts[w+1]; b++ {
			most = max(most, counts[b])
		}
		parts[w+1] = parts[w] + int(most)
	}
	scratch = scratchOf(scratch, parts[ways], mem)
	inParallel(ways, func(w int) {
		sortBuckets(ents, scratch[parts[w]:parts[w+1]], &ends, cuts[w], cuts[w+1], top)
	})
	return scratch
}

// insertionMax is the most entries lsdSort orders by insertion instead: its counters alone
// are 8 KiB to clear.
const insertionMax = 48

// insertionSort sorts a few entries by their numbers, stably.
func insertionSort(ents []sortEnt) {
	for i := 1; i < len(ents); i++ {
		e := ents[i]
		j := i
		for ; j > 0 && ents[j-1].pfx > e.pfx; j-- {
			ents[j] = ents[j-1]
		}
		ents[j] = e
	}
}

// lsdSort sorts ents, whose numbers share their bytes from below top upwards, stably by those
// bytes below top, with tmp (at least as long) as scratch: a radix sort from the least
// significant byte, a pass per byte (skipped when every entry has the same).
func lsdSort(ents, tmp []sortEnt, below int) {
	n := uint32(len(ents))
	if n <= insertionMax {
		insertionSort(ents)
		return
	}
	var counts [8][256]uint32
	for _, e := range ents {
		p := e.pfx
		for d := range below {
			counts[d][byte(p>>(8*d))]++
		}
	}
	lsdSortCounted(ents, tmp, below, &counts)
}

// lsdSortCounted is lsdSort given counts: counts[d][v] is the number of entries whose byte d
// is v, for each d below below (the rows above are not read). It consumes counts.
func lsdSortCounted(ents, tmp []sortEnt, below int, counts *[8][256]uint32) {
	n := uint32(len(ents))
	src, dst := ents, tmp[:len(ents)]
	for d := range below {
		c := &counts[d]
		shift := 8 * uint(d)
		if c[byte(src[0].pfx>>shift)] == n {
			continue
		}
		var sum uint32
		for b, x := range c {
			c[b] = sum
			sum += x
		}
		for _, e := range src {
			b := byte(e.pfx >> shift)
			dst[c[b]] = e
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &ents[0] {
		copy(ents, src)
	}
}

// prefix8 returns the first eight bytes of k as a big-endian number, zero-padded: if
// prefix8(a) < prefix8(b) then a sorts before b bytewise.
func prefix8(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var p uint64
	for i, c := range k {
		p |= uint64(c) << (56 - 8*i)
	}
	return p
}

// commonPrefixLen returns the length of the longest prefix that every key of batch starts
// with (0 for an empty batch).
func commonPrefixLen(batch [][]byte) int {
	if len(batch) == 0 {
		return 0
	}
	first := batch[0]
	n := len(first)
	for _, k := range batch[1:] {
		if len(k) < n {
			n = len(k)
		}
		i := 0
		for i < n && k[i] == first[i] {
			i++
		}
		n = i
		if n == 0 {
			break
		}
	}
	return n
}
