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
// Entries whose key does not parse are kept (and end the current user key), so that damage is
// never hidden by a compaction dropping it.
type Dropper struct {
	c                *Compaction
	smallestSnapshot keys.SeqNum
	curUser          []byte
	hasCur           bool
	lastSeqForKey    keys.SeqNum // sequence number of the previous entry of curUser
}

// NewDropper returns a Dropper for c. smallestSnapshot is the sequence number of the oldest
// live snapshot, or the newest sequence number when there is none.
func NewDropper(c *Compaction, smallestSnapshot keys.SeqNum) *Dropper {
	return &Dropper{c: c, smallestSnapshot: smallestSnapshot}
}

// Drop reports whether the entry with internal key ikey may be left out of the output. It must
// see every entry of the compaction, in order.
func (d *Dropper) Drop(ikey []byte) bool {
	pk, ok := keys.Parse(ikey)
	if !ok {
		d.hasCur = false
		d.curUser = d.curUser[:0]
		d.lastSeqForKey = keys.MaxSeqNum
		return false
	}
	if !d.hasCur || d.c.icmp.CompareUser(pk.UserKey, d.curUser) != 0 {
		d.curUser = append(d.curUser[:0], pk.UserKey...)
		d.hasCur = true
		d.lastSeqForKey = keys.MaxSeqNum // the first (newest) entry of a user key is never shadowed
	}
	drop := false
	switch {
	case d.lastSeqForKey <= d.smallestSnapshot:
		drop = true // a newer entry of this key is visible to every snapshot
	case pk.Kind == keys.KindDelete && pk.Seq <= d.smallestSnapshot && d.c.IsBaseLevelForKey(pk.UserKey):
		drop = true
	}
	d.lastSeqForKey = pk.Seq
	return drop
}
