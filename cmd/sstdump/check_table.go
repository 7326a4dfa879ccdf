package main

import (
	"bytes"
	"fmt"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

// tableStats is what a walk over a table's data blocks learns.
type tableStats struct {
	blocks       int    // data blocks
	badBlocks    int    // data blocks that could not be read
	snappyBlocks int    // data blocks stored snappy-compressed
	entries      uint64 // entries of the readable blocks
	sets, dels   uint64 // internal tables: entries by kind
	badKeys      uint64 // internal tables: keys that do not parse
	minSeq       keys.SeqNum
	maxSeq       keys.SeqNum
	keyBytes     uint64 // key and value bytes of the entries
	valueBytes   uint64
	storedBytes  uint64 // data blocks as stored (handle sizes, without trailers)
	rawBytes     uint64 // data blocks decompressed
	first, last  []byte // first and last key of the readable blocks; nil when there are none
}

// tableCheckOptions say what checkTable checks besides checksums and block structure.
type tableCheckOptions struct {
	// order checks that keys strictly increase, within and across blocks, and that index keys
	// separate the blocks: under leveldb's internal-key order over bytewise user keys for
	// internal tables, bytewise for raw ones. Off for tables of a custom comparator.
	order bool
}

// checkTable walks every data block of t, reporting each problem to r and carrying on where it
// can: a block that fails its checksum is skipped and the walk goes on with the next. It checks
// the index (order, handles, blocks that overlap), each block's checksum, compression and
// structure, the keys (internal keys must parse), the key order, the index keys against the
// blocks they separate, and the filter: every key must match the filter of its block, or a Get
// would miss it.
func checkTable(t *table, opts tableCheckOptions, r *reporter, prog *progress) tableStats {
	c := &tableCheck{t: t, opts: opts, r: r, prog: prog, idxOff: int64(t.indexH.Offset), prevRead: -1}
	c.st.minSeq = keys.MaxSeqNum
	c.cmp, c.filterKey = keys.Bytewise.Compare, func(k []byte) []byte { return k }
	if t.internal {
		c.cmp, c.filterKey = keys.NewInternalComparator(keys.Bytewise).Compare, keys.UserKey
	}
	if t.metaErr != nil {
		r.report(t.metaErr)
	}
	c.checkIndex()
	c.loadFilter()
	for i := range t.index {
		c.checkDataBlock(i)
	}
	if c.haveKey {
		c.st.last = append([]byte{}, c.prevKey...)
	}
	if c.st.maxSeq < c.st.minSeq {
		c.st.minSeq = 0
	}
	return c.st
}

// tableCheck is the state of one checkTable.
type tableCheck struct {
	t         *table
	opts      tableCheckOptions
	r         *reporter
	prog      *progress
	cmp       func(a, b []byte) int // the key order
	filterKey func([]byte) []byte   // the key a filter holds for a table key
	idxOff    int64                 // offset of the index block, where index problems are
	filter    *filterBlock          // nil when there is none to check
	st        tableStats

	prevKey     []byte // the last key seen, in any block
	haveKey     bool
	prevOrdered []byte // the last key taking part in order checks, in any block
	haveOrdered bool
	prevRead    int // the last block read whole, -1 before the first
}

// ordered reports whether a key takes part in order checks: in an internal table, keys that do
// not parse are reported as such and left out.
func (c *tableCheck) ordered(k []byte) bool {
	if !c.opts.order {
		return false
	}
	if c.t.internal {
		_, ok := keys.Parse(k)
		return ok
	}
	return true
}

// checkIndex checks the index: handles that decode and lie inside the file, blocks in file
// order that do not overlap, keys that parse (internal tables), keys in order.
func (c *tableCheck) checkIndex() {
	t, r := c.t, c.r
	var (
		prevEnd  uint64
		prevSep  = -1 // the last index entry taking part in order checks
		badSeps  int
		firstBad int
	)
	for i := range t.index {
		ie := &t.index[i]
		if ie.bad != nil {
			r.report(ie.bad)
			continue
		}
		if ie.h.Offset < prevEnd {
			r.reportf(c.idxOff, "index entry %d: data block at offset %d overlaps the previous block, which ends at %d", i, ie.h.Offset, prevEnd)
		}
		prevEnd = ie.h.Offset + ie.h.Size + sstable.BlockTrailerLen
		if t.internal {
			if _, ok := keys.Parse(ie.sep); !ok {
				if badSeps == 0 {
					firstBad = i
				}
				badSeps++
				continue
			}
		}
		if !c.ordered(ie.sep) {
			continue
		}
		if prevSep >= 0 && c.cmp(t.index[prevSep].sep, ie.sep) >= 0 {
			r.reportf(c.idxOff, "index keys out of order: entry %d %s does not sort after entry %d %s",
				i, showKey(ie.sep, t.internal), prevSep, showKey(t.index[prevSep].sep, t.internal))
		}
		prevSep = i
	}
	if badSeps > 0 {
		r.reportf(c.idxOff, "%s of the index are not internal keys (the first is entry %d, %s)",
			plural(badSeps, "key"), firstBad, showKey(t.index[firstBad].sep, false))
	}
}

// loadFilter reads the filter block, if any, and keeps it when its policy is one sstdump knows.
func (c *tableCheck) loadFilter() {
	filter, err := loadFilter(c.t)
	if err != nil {
		c.r.report(err)
	}
	if filter != nil && filter.policy == nil {
		c.r.note(dberr.NoOffset, "filter %q is not one sstdump knows; not checked", filter.name)
		filter = nil
	}
	c.filter = filter
}

// blockCheck is what checking one data block learns.
type blockCheck struct {
	i             int    // the block's index
	n             int    // entries walked
	filt          []byte // the block's filter, when hasFilt
	hasFilt       bool
	misses        int // keys that miss the filter
	firstMis      []byte
	badKeys       int // internal tables: keys that do not parse
	firstBadKey   []byte
	firstBadEntry int
	lastOrdered   int // the last entry of this block taking part in order checks, or -1
}

// checkDataBlock reads data block i, checks each of its entries and reports what it found.
func (c *tableCheck) checkDataBlock(i int) {
	t, r, st := c.t, c.r, &c.st
	ie := &t.index[i]
	st.blocks++
	b := blockCheck{i: i, lastOrdered: -1}
	if c.filter != nil && ie.bad == nil {
		b.filt, b.hasFilt = c.filter.Filter(ie.h.Offset)
		if !b.hasFilt {
			r.reportf(int64(ie.h.Offset), "data block %d has no filter (the filter block has %d filters)", i, c.filter.Len())
		}
	}
	comp, rawSize, err := t.dataBlock(i, func(e sstable.RawEntry) bool {
		c.checkEntry(&b, e)
		return true
	})
	if ie.bad == nil {
		c.prog.add(int64(ie.h.Size + sstable.BlockTrailerLen))
	}
	if err != nil {
		st.badBlocks++
		if ie.bad == nil { // reported with the index
			r.report(err)
		}
		return
	}
	c.prevRead = i
	st.entries += uint64(b.n)
	st.storedBytes += ie.h.Size
	st.rawBytes += uint64(rawSize)
	if comp == sstable.SnappyCompression {
		st.snappyBlocks++
	}
	st.badKeys += uint64(b.badKeys)
	if b.badKeys > 0 {
		r.reportf(int64(ie.h.Offset), "data block %d: %d of its %d keys are not internal keys (the first is entry %d, %s)",
			i, b.badKeys, b.n, b.firstBadEntry, showKey(b.firstBadKey, false))
	}
	if b.misses > 0 {
		r.reportf(int64(ie.h.Offset), "filter: %d of the %d keys of data block %d do not match its filter (the first is %s): Get would miss them",
			b.misses, b.n, i, showKey(b.firstMis, t.internal))
	}
	if b.lastOrdered >= 0 && c.ordered(ie.sep) && c.cmp(ie.sep, c.prevOrdered) < 0 {
		r.reportf(c.idxOff, "index key %d %s sorts before the last key of its data block, %s",
			i, showKey(ie.sep, t.internal), showKey(c.prevOrdered, t.internal))
	}
}

// checkEntry checks entry e of the data block b: its key parses (internal tables), sorts after
// the previous key and above the index key before the block, and matches the block's filter;
// and it counts the entry in the table's statistics.
func (c *tableCheck) checkEntry(b *blockCheck, e sstable.RawEntry) {
	t, st, k := c.t, &c.st, e.Key
	parsed := false
	if t.internal {
		if pk, ok := keys.Parse(k); ok {
			parsed = true
			st.minSeq, st.maxSeq = min(st.minSeq, pk.Seq), max(st.maxSeq, pk.Seq)
			if pk.Kind == keys.KindDelete {
				st.dels++
			} else {
				st.sets++
			}
		} else {
			if b.badKeys == 0 {
				b.firstBadKey, b.firstBadEntry = bytes.Clone(k), b.n
			}
			b.badKeys++
		}
	}
	if c.opts.order && (!t.internal || parsed) {
		c.checkOrder(b, e)
	}
	if b.hasFilt && (!t.internal || parsed) && !c.filter.policy.MayContain(b.filt, c.filterKey(k)) {
		if b.misses == 0 {
			b.firstMis = bytes.Clone(k)
		}
		b.misses++
	}
	if !c.haveKey {
		st.first = append([]byte{}, k...) // not nil, even for the empty key
	}
	c.prevKey, c.haveKey = append(c.prevKey[:0], k...), true
	st.keyBytes += uint64(len(k))
	st.valueBytes += uint64(len(e.Value))
	b.n++
}

// checkOrder checks that entry e of data block b sorts after the last ordered key before it
// and, as the block's first entry, after the index key of the block before.
func (c *tableCheck) checkOrder(b *blockCheck, e sstable.RawEntry) {
	t, i, k := c.t, b.i, e.Key
	if b.n == 0 && c.prevRead == i-1 && i > 0 && c.ordered(t.index[i-1].sep) && c.cmp(t.index[i-1].sep, k) >= 0 {
		c.r.reportf(c.idxOff, "index key %d %s is not below the first key of data block %d, %s",
			i-1, showKey(t.index[i-1].sep, t.internal), i, showKey(k, t.internal))
	}
	if c.haveOrdered && c.cmp(c.prevOrdered, k) >= 0 {
		c.r.reportf(int64(t.index[i].h.Offset), "keys out of order: data block %d, entry %d (byte %d of the block): %s does not sort after %s",
			i, b.n, e.Offset, showKey(k, t.internal), showKey(c.prevOrdered, t.internal))
	}
	c.prevOrdered, c.haveOrdered = append(c.prevOrdered[:0], k...), true
	b.lastOrdered = b.n
}

// maxShownKey is how many bytes of a key a message shows.
const maxShownKey = 64

// showKey prints a key for a message: as an internal key (user#seq,KIND) or escaped bytes,
// the user key cut after maxShownKey bytes.
func showKey(k []byte, internal bool) string {
	cut := func(b []byte) string {
		if len(b) <= maxShownKey {
			return string(appendEscaped(nil, b))
		}
		return fmt.Sprintf("%s...(%d bytes)", appendEscaped(nil, b[:maxShownKey]), len(b))
	}
	if internal {
		if pk, ok := keys.Parse(k); ok {
			return fmt.Sprintf("%s#%d,%s", cut(pk.UserKey), pk.Seq, pk.Kind)
		}
		return cut(k) + "#BAD"
	}
	return `"` + cut(k) + `"`
}
