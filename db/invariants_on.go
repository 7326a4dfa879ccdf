//go:build invariants

package db

import (
	"fmt"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

// In builds with -tags invariants (CI runs `go test -tags invariants ./compaction/ ./db/`):
//
//   - every Version a DB installs is checked by the compaction package, including the
//     invariants about sequence numbers, which hold in a DB but not for the made-up edits of the
//     compaction package's own tests (compaction.CheckSequenceInvariants);
//   - every table a compaction installs is read back (checkEditLocked): its entries must be in
//     strictly increasing internal-key order, the first and last must be the smallest and
//     largest keys the MANIFEST records for it, none may have a sequence number above the last
//     sequence, and its size must be the recorded size.
//
// A violation panics.
func init() { compaction.CheckSequenceInvariants = true }

// checkEditLocked reads back the tables edit added (it was just installed) and panics if one
// does not hold what its metadata says. An I/O error while reading is not a violation (fault
// injection tests cause them): the table is skipped. Requires d.mu; keeps it.
func (d *DB) checkEditLocked(edit *compaction.VersionEdit) {
	lastSeq := d.mu.vs.LastSequence()
	for _, nf := range edit.NewFiles {
		if err := d.checkTable(nf.Meta, lastSeq); err != nil {
			panic(fmt.Sprintf("db: invariant broken: table %s at L%d: %v", nf.Meta, nf.Level, err))
		}
	}
}

// checkTable reads table m and returns what in it contradicts m, or nil.
func (d *DB) checkTable(m *compaction.FileMetadata, lastSeq keys.SeqNum) error {
	it, err := d.newTableIter(m.Num, sstable.ReadOptions{DontFillCache: true, VerifyChecksums: true})
	if err != nil {
		return nil // I/O, not a violation
	}
	defer it.Close()
	var prev []byte
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		pk, valid := keys.Parse(k)
		switch {
		case !valid:
			return fmt.Errorf("entry %d: not an internal key: %s", n, keys.FormatInternalKey(k))
		case pk.Seq > lastSeq:
			return fmt.Errorf("entry %s: sequence number above the last sequence %d", pk, lastSeq)
		case n == 0 && d.icmp.Compare(k, m.Smallest) != 0:
			return fmt.Errorf("first entry %s is not the recorded smallest key", pk)
		case prev != nil && d.icmp.Compare(prev, k) >= 0:
			return fmt.Errorf("entry %s does not sort after %s", pk, keys.FormatInternalKey(prev))
		}
		prev = append(prev[:0], k...)
		n++
	}
	if it.Error() != nil {
		return nil // I/O, not a violation
	}
	if n == 0 {
		return fmt.Errorf("no entries")
	}
	if d.icmp.Compare(prev, m.Largest) != 0 {
		return fmt.Errorf("last entry %s is not the recorded largest key", keys.FormatInternalKey(prev))
	}
	h, err := d.tables.acquire(m.Num)
	if err != nil {
		return nil
	}
	defer h.Release()
	if size := h.Value().Size(); size != m.Size {
		return fmt.Errorf("file is %d bytes, recorded %d", size, m.Size)
	}
	return nil
}
