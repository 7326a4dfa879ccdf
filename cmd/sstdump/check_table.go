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
	var st tableStats
	st.minSeq = keys.MaxSeqNum
	cmp := keys.Bytewise.Compare
	if t.internal {
		cmp = keys.NewInternalComparator(keys.Bytewise).Compare
	}
	fk := func(k []byte) []byte { return k }
	if t.internal {
		fk = keys.UserKey
	}
	idxOff := int64(t.indexH.Offset)
	if t.metaErr != nil {
		r.report(t.metaErr)
	}

	// ordered reports whether a key takes part in order checks: in an internal table, keys that
	// do not parse are reported as such and left out.
	ordered := func(k []byte) bool {
		if !opts.order {
			return false
		}
		if t.internal {
			_, ok := keys.Parse(k)
			return ok
		}
		return true
	}

	// The index: handles that decode and lie inside the file, blocks in file order that do not
	// overlap, keys that parse (internal tables), keys in order.
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
			r.reportf(idxOff, "index entry %d: data block at offset %d overlaps the previous block, which ends at %d", i, ie.h.Offset, prevEnd)
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
		if !ordered(ie.sep) {
			continue
		}
		if prevSep >= 0 && cmp(t.index[prevSep].sep, ie.sep) >= 0 {
			r.reportf(idxOff, "index keys out of order: entry %d %s does not sort after entry %d %s",
				i, showKey(ie.sep, t.internal), prevSep, showKey(t.index[prevSep].sep, t.internal))
		}
		prevSep = i
	}
	if badSeps > 0 {
		r.reportf(idxOff, "%s of the index are not internal keys (the first is entry %d, %s)",
			plural(badSeps, "key"), firstBad, showKey(t.index[firstBad].sep, false))
	}

	// The filter, if any.
	filter, err := loadFilter(t)
	if err != nil {
		r.report(err)
	}
	if filter != nil && filter.policy == nil {
		r.note(dberr.NoOffset, "filter %q is not one sstdump knows; not checked", filter.name)
		filter = nil
	}

	// The data blocks.
	var (
		prevKey     []byte // the last key seen, in any block
		haveKey     bool
		prevOrdered []byte // the last key taking part in order checks, in any block
		haveOrdered bool
		prevRead    = -1 // the last block read whole
	)
	for i := range t.index {
		ie := &t.index[i]
		st.blocks++
		var (
			n             int
			misses        int
			firstMis      []byte
			filt          []byte
			hasFilt       bool
			badKeys       int
			firstBadKey   []byte
			firstBadEntry int
			lastOrdered   = -1 // the last entry of this block taking part in order checks
		)
		if filter != nil && ie.bad == nil {
			filt, hasFilt = filter.Filter(ie.h.Offset)
			if !hasFilt {
				r.reportf(int64(ie.h.Offset), "data block %d has no filter (the filter block has %d filters)", i, filter.Len())
			}
		}
		comp, rawSize, err := t.dataBlock(i, func(e sstable.RawEntry) bool {
			k := e.Key
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
					if badKeys == 0 {
						firstBadKey, firstBadEntry = bytes.Clone(k), n
					}
					badKeys++
				}
			}
			if opts.order && (!t.internal || parsed) {
				if n == 0 && prevRead == i-1 && i > 0 && ordered(t.index[i-1].sep) && cmp(t.index[i-1].sep, k) >= 0 {
					r.reportf(idxOff, "index key %d %s is not below the first key of data block %d, %s",
						i-1, showKey(t.index[i-1].sep, t.internal), i, showKey(k, t.internal))
				}
				if haveOrdered && cmp(prevOrdered, k) >= 0 {
					r.reportf(int64(ie.h.Offset), "keys out of order: data block %d, entry %d (byte %d of the block): %s does not sort after %s",
						i, n, e.Offset, showKey(k, t.internal), showKey(prevOrdered, t.internal))
				}
				prevOrdered, haveOrdered = append(prevOrdered[:0], k...), true
				lastOrdered = n
			}
			if hasFilt && (!t.internal || parsed) && !filter.policy.MayContain(filt, fk(k)) {
				if misses == 0 {
					firstMis = bytes.Clone(k)
				}
				misses++
			}
			if !haveKey {
				st.first = append([]byte{}, k...) // not nil, even for the empty key
			}
			prevKey, haveKey = append(prevKey[:0], k...), true
			st.keyBytes += uint64(len(k))
			st.valueBytes += uint64(len(e.Value))
			n++
			return true
		})
		if ie.bad == nil {
			prog.add(int64(ie.h.Size + sstable.BlockTrailerLen))
		}
		if err != nil {
			st.badBlocks++
			if ie.bad == nil { // reported with the index
				r.report(err)
			}
			continue
		}
		prevRead = i
		st.entries += uint64(n)
		st.storedBytes += ie.h.Size
		st.rawBytes += uint64(rawSize)
		if comp == sstable.SnappyCompression {
			st.snappyBlocks++
		}
		st.badKeys += uint64(badKeys)
		if badKeys > 0 {
			r.reportf(int64(ie.h.Offset), "data block %d: %d of its %d keys are not internal keys (the first is entry %d, %s)",
				i, badKeys, n, firstBadEntry, showKey(firstBadKey, false))
		}
		if misses > 0 {
			r.reportf(int64(ie.h.Offset), "filter: %d of the %d keys of data block %d do not match its filter (the first is %s): Get would miss them",
				misses, n, i, showKey(firstMis, t.internal))
		}
		if lastOrdered >= 0 && ordered(ie.sep) && cmp(ie.sep, prevOrdered) < 0 {
			r.reportf(idxOff, "index key %d %s sorts before the last key of its data block, %s",
				i, showKey(ie.sep, t.internal), showKey(prevOrdered, t.internal))
		}
	}
	if haveKey {
		st.last = append([]byte{}, prevKey...)
	}
	if st.maxSeq < st.minSeq {
		st.minSeq = 0
	}
	return st
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
