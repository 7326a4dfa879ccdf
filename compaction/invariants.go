package compaction

import (
	"fmt"
	"slices"

	"github.com/stratadb/strata/internal/keys"
)

// versionInvariantError returns an error describing the first invariant that v, as the current
// Version of vs, breaks, or nil. Builds with -tags invariants check every Version as it is
// installed (invariants_on.go); the check reads only the files' metadata, never their contents.
// Invariants 1 to 4 are the VersionSet's own; 5 and 6, checked only when seqs is true, are about
// the sequence numbers in the keys, which the VersionSet does not interpret: they hold in a DB,
// which writes them, but not for arbitrary edits (this package's tests apply made-up ones).
//
//  1. Every file's keys are internal keys of a known kind, and its smallest key sorts at or
//     before its largest.
//  2. Level 0 is sorted by file number, strictly increasing (oldest first).
//  3. Levels 1 to 6 are sorted by smallest key, and each file's largest key sorts strictly
//     before the next file's smallest: no internal key is in two files of a level. (Two
//     neighbours may share a user key, the newer entries in the first.)
//  4. No file number is in two places, and every one is below the next file number the
//     VersionSet will hand out.
//  5. No file holds a sequence number above the last sequence (as far as its boundary keys
//     show).
//  6. Reads search level 0 newest file first, then levels 1 to 6 in order, and stop at the
//     first entry they find for a user key; so for every user key, a file searched earlier must
//     hold only newer entries than a file searched later. The boundary keys are what the
//     metadata shows of a file's entries: whenever two files at different places in that search
//     order both have a boundary key with the same user key, the earlier file's sequence number
//     must be the larger, or the same entry (same sequence number and kind: Repair may leave a
//     write in two tables, which misleads no read).
func (vs *VersionSet) versionInvariantError(v *Version, seqs bool) error {
	icmp := vs.icmp
	where := make(map[uint64]int)
	type boundary struct {
		user []byte
		rank int // place in the search order: L0 newest first, then L1..L6
		seq  keys.SeqNum
		kind keys.Kind
		f    *FileMetadata
		lvl  int
	}
	var bounds []boundary
	l0 := len(v.Levels[0])
	for level, files := range v.Levels {
		for i, f := range files {
			// 1.
			for _, k := range [][]byte{f.Smallest, f.Largest} {
				if _, ok := keys.Parse(k); !ok {
					return fmt.Errorf("L%d %06d has a key that is not an internal key: %s", level, f.Num, keys.FormatInternalKey(k))
				}
			}
			if icmp.Compare(f.Smallest, f.Largest) > 0 {
				return fmt.Errorf("L%d %s: smallest key after largest", level, f)
			}
			// 2, 3.
			if i > 0 {
				prev := files[i-1]
				if level == 0 && prev.Num >= f.Num {
					return fmt.Errorf("L0 out of file-number order: %06d before %06d", prev.Num, f.Num)
				}
				if level > 0 && icmp.Compare(prev.Largest, f.Smallest) >= 0 {
					return fmt.Errorf("L%d overlaps or is out of order: %s then %s", level, prev, f)
				}
			}
			// 4.
			if other, ok := where[f.Num]; ok {
				return fmt.Errorf("file %06d is in L%d and in L%d", f.Num, other, level)
			}
			where[f.Num] = level
			if f.Num >= vs.nextFileNum {
				return fmt.Errorf("L%d %s: number not below the next file number %d", level, f, vs.nextFileNum)
			}
			if !seqs {
				continue
			}
			// 5.
			rank := level + l0 - 1
			if level == 0 {
				rank = l0 - 1 - i
			}
			for _, k := range [][]byte{f.Smallest, f.Largest} {
				seq, kind := keys.SplitTrailer(keys.TrailerOf(k))
				if seq > vs.lastSeq {
					return fmt.Errorf("L%d %s: sequence number %d above the last sequence %d", level, f, seq, vs.lastSeq)
				}
				bounds = append(bounds, boundary{user: keys.UserKey(k), rank: rank, seq: seq, kind: kind, f: f, lvl: level})
			}
		}
	}
	// 6. Sort the boundaries by user key, then search order; walk each user key's run keeping
	// the smallest sequence number seen in earlier-searched files.
	slices.SortFunc(bounds, func(a, b boundary) int {
		if c := icmp.CompareUser(a.user, b.user); c != 0 {
			return c
		}
		return a.rank - b.rank
	})
	for i := 0; i < len(bounds); {
		j := i
		var minSeq keys.SeqNum
		var minOf boundary
		haveMin := false
		for j < len(bounds) && icmp.CompareUser(bounds[i].user, bounds[j].user) == 0 {
			// Boundaries of one rank do not constrain each other; fold them in after checking.
			k := j
			for k < len(bounds) && bounds[k].rank == bounds[j].rank && icmp.CompareUser(bounds[i].user, bounds[k].user) == 0 {
				b := bounds[k]
				if haveMin && (b.seq > minSeq || b.seq == minSeq && b.kind != minOf.kind) {
					return fmt.Errorf("user key %s: L%d %s is searched after L%d %s but holds an entry as new or newer (#%d,%s after #%d,%s)",
						keys.FormatUserKey(b.user), b.lvl, b.f, minOf.lvl, minOf.f, b.seq, b.kind, minSeq, minOf.kind)
				}
				k++
			}
			for ; j < k; j++ {
				if !haveMin || bounds[j].seq < minSeq {
					minSeq, minOf, haveMin = bounds[j].seq, bounds[j], true
				}
			}
		}
		i = j
	}
	return nil
}
