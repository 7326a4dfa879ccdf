package compaction

import (
	"github.com/stratadb/strata/internal/keys"
)

// Dropper decides, for the entries a compaction merges in internal-key order, which ones the
// output may leave out:
//
//   - an entry shadowed by a newer entry of the same user key that every live snapshot can
//     already see (its sequence number is at or below the oldest snapshot): no reader can ever
//     reach it again;
//   - a deletion marker that every snapshot can see and that has nothing left to shadow: no
//     level below the compaction's output holds its user key, and the entries it shadows in the
//     inputs are dropped by the first rule.
//
// A flush uses the first rule only (NewFlushDropper): a memtable's deletion markers still
// shadow whatever the tables hold.
//
// Entries whose key does not parse are kept (and end the current user key), so that damage is
// never hidden by a compaction dropping it.
type Dropper struct {
	c                *Compaction // nil for a flush: deletion markers are always kept
	icmp             *keys.InternalComparator
	smallestSnapshot keys.SeqNum
	curUser          []byte
	hasCur           bool
	// shadowed says that an entry of curUser already seen (a newer one) is at or below
	// smallestSnapshot: every snapshot reads it, so none reads the entries that follow.
	shadowed bool
}

// NewDropper returns a Dropper for c. smallestSnapshot is the sequence number of the oldest
// live snapshot, or the newest sequence number when there is none.
func NewDropper(c *Compaction, smallestSnapshot keys.SeqNum) *Dropper {
	return &Dropper{c: c, icmp: c.icmp, smallestSnapshot: smallestSnapshot}
}

// NewFlushDropper returns a Dropper for the entries of a memtable being flushed: it drops only
// entries shadowed by a newer entry of the same key that every snapshot can see.
func NewFlushDropper(icmp *keys.InternalComparator, smallestSnapshot keys.SeqNum) *Dropper {
	return &Dropper{icmp: icmp, smallestSnapshot: smallestSnapshot}
}

// Drop reports whether the entry with internal key ikey may be left out of the output. It must
// see every entry of the compaction, in order.
func (d *Dropper) Drop(ikey []byte) bool {
	pk, ok := keys.Parse(ikey)
	if !ok {
		d.hasCur = false
		d.curUser = d.curUser[:0]
		d.shadowed = false
		return false
	}
	if !d.hasCur || d.icmp.CompareUser(pk.UserKey, d.curUser) != 0 {
		d.curUser = append(d.curUser[:0], pk.UserKey...)
		d.hasCur = true
		d.shadowed = false // the first (newest) entry of a user key is never shadowed
	}
	drop := false
	switch {
	case d.shadowed:
		drop = true // a newer entry of this key is visible to every snapshot
	case pk.Kind == keys.KindDelete && pk.Seq <= d.smallestSnapshot && d.c != nil && d.c.IsBaseLevelForKey(pk.UserKey):
		drop = true
	}
	d.shadowed = d.shadowed || pk.Seq <= d.smallestSnapshot
	return drop
}
