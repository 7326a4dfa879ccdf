package compaction

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/wal"
	"github.com/stretchr/testify/require"
)

// manifestBytes encodes records (edits, or raw bytes) as a MANIFEST and returns it with each
// record's offset.
func manifestBytes(t *testing.T, records ...any) ([]byte, []int64) {
	t.Helper()
	var buf bytes.Buffer
	w := wal.NewWriter(nopSyncer{&buf})
	var offs []int64
	for _, r := range records {
		offs = append(offs, int64(buf.Len()))
		switch r := r.(type) {
		case *VersionEdit:
			require.NoError(t, w.AddRecord(r.Encode(nil)))
		case []byte:
			require.NoError(t, w.AddRecord(r))
		}
	}
	return buf.Bytes(), offs
}

// edit returns an edit made by set.
func edit(set func(e *VersionEdit)) *VersionEdit {
	var e VersionEdit
	set(&e)
	return &e
}

// problemText prints a problem as "KIND@OFFSET: REASON" (OFFSET -1 for the end state).
func problemText(p *ReplayProblem) string {
	return fmt.Sprintf("%d@%d: %v", p.Kind, p.Offset, p)
}

// TestReplayTolerant replays MANIFESTs holding the problems a replay can meet, tolerantly: each
// is reported with its offset, the change at fault is skipped, and the rest applies.
func TestReplayTolerant(t *testing.T) {
	m := func(num uint64, smallest, largest string) *FileMetadata { return meta(t, num, 100, smallest, largest) }
	first := edit(func(e *VersionEdit) {
		e.SetComparator(keys.BytewiseName)
		e.SetLogNum(3)
		e.AddFile(1, m(5, "a#1,SET", "c#2,SET"))
		e.AddFile(1, m(6, "b#3,SET", "d#4,SET")) // overlaps 5
		e.AddCompactPointer(1, ikey(t, "b#3,SET"))
	})
	bad := edit(func(e *VersionEdit) {
		e.DeleteFile(2, 7)                       // never added
		e.AddFile(0, m(5, "x#9,SET", "y#9,SET")) // already in L1
		e.AddFile(2, m(8, "z#9,SET", "q#9,SET")) // smallest after largest
		e.AddFile(3, m(9, "k#9,SET", "k#9,SET"))
		e.SetPrevLogNum(2)
		e.SetLastSeq(40)
	})
	other := edit(func(e *VersionEdit) { e.SetComparator("test.Other") })
	cases := []struct {
		name     string
		records  []any
		any      bool
		problems []string // with OFF1, OFF2 for the offsets of the second and third records
		tree     string
	}{
		{"EveryProblem", []any{first, []byte{8}, bad}, false, []string{
			"1@OFF1: strata: corruption in M at offset OFF1: version edit: tag 8 is unknown at byte 0 of the 1-byte record",
			"3@OFF2: edit deletes file 000007 from L2, which does not hold it",
			"4@OFF2: edit adds file 000005 to L0, but L1 already holds it",
			"5@OFF2: edit adds file 000008:[z#9,SET-q#9,SET] whose smallest key sorts after its largest",
			"6@-1: L1 would hold overlapping files 000005:[a#1,SET-c#2,SET] and 000006:[b#3,SET-d#4,SET]",
			"7@-1: no next-file-number entry in 2 records",
		}, "L1 000005 000006, L3 000009"},
		// Another comparator than the replay's: keys are no longer checked for order.
		{"OtherComparator", []any{first, other, bad}, false, []string{
			`2@OFF1: edit names comparator "test.Other", not "leveldb.BytewiseComparator"`,
			"3@OFF2: edit deletes file 000007 from L2, which does not hold it",
			"4@OFF2: edit adds file 000005 to L0, but L1 already holds it",
			"7@-1: no next-file-number entry in 3 records",
		}, "L1 000005 000006, L2 000008, L3 000009"},
		// Any comparator: only a change is a problem; and keys in another order go unchecked.
		{"AnyComparator", []any{other, bad, first}, true, []string{
			"3@OFF1: edit deletes file 000007 from L2, which does not hold it",
			`2@OFF2: edit names comparator "leveldb.BytewiseComparator", not "test.Other"`,
			"4@OFF2: edit adds file 000005 to L1, but L0 already holds it",
			"7@-1: no next-file-number entry in 3 records",
		}, "L0 000005, L1 000006, L2 000008, L3 000009"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, offs := manifestBytes(t, c.records...)
			var problems []string
			_, v, err := ReplayManifest(bytes.NewReader(data), "M", ReplayOptions{Comparator: testICmp, AnyComparator: c.any,
				Problem: func(p *ReplayProblem) error { problems = append(problems, problemText(p)); return nil }})
			require.NoError(t, err)
			r := strings.NewReplacer("OFF1", fmt.Sprint(offs[1]), "OFF2", fmt.Sprint(offs[2]))
			for i := range c.problems {
				c.problems[i] = r.Replace(c.problems[i])
			}
			require.Equal(t, c.problems, problems)
			var tree []string
			for level, files := range v.Levels {
				if len(files) > 0 {
					s := fmt.Sprintf("L%d", level)
					for _, f := range files {
						s += fmt.Sprintf(" %06d", f.Num)
					}
					tree = append(tree, s)
				}
			}
			require.Equal(t, c.tree, strings.Join(tree, ", "))
		})
	}
}

// TestReplayCounters checks what a replay keeps besides the tree, and what it passes on: each
// edit with its offset and size, damage skipped, a torn tail.
func TestReplayCounters(t *testing.T) {
	data, offs := manifestBytes(t, baseEdit(),
		edit(func(e *VersionEdit) { e.SetLogNum(4); e.SetPrevLogNum(3); e.AddCompactPointer(2, ikey(t, "m#5,SET")) }),
		edit(func(e *VersionEdit) { e.SetNextFileNum(12); e.SetLastSeq(99) }))
	for _, c := range []struct {
		name   string
		damage func(b []byte) []byte
		events string
	}{
		{"Damaged", func(b []byte) []byte { b[offs[2]+10] ^= 1; return b }, "damage"},
		{"Torn", func(b []byte) []byte { return b[:len(b)-3] }, "torn"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var seen, events []string
			r, _, err := ReplayManifest(bytes.NewReader(c.damage(slices.Clone(data))), "M", ReplayOptions{
				Comparator: testICmp,
				Problem:    func(p *ReplayProblem) error { return p },
				Edit: func(off int64, size int, e *VersionEdit) error {
					seen = append(seen, fmt.Sprintf("%d+%d", off, size))
					return nil
				},
				Damage: func(int64, int, error) { events = append(events, "damage") },
				Torn:   func(error) { events = append(events, "torn") },
			})
			require.NoError(t, err)
			require.Equal(t, []string{fmt.Sprintf("0+%d", offs[1]-7), fmt.Sprintf("%d+%d", offs[1], offs[2]-offs[1]-7)}, seen)
			require.Equal(t, []string{c.events}, events)
			require.Equal(t, 2, r.Edits)
			require.Equal(t, keys.BytewiseName, r.Comparator)
			require.True(t, r.HasComparator && r.HasLogNum && r.HasPrevLogNum && r.HasNextFileNum && r.HasLastSeq)
			require.Equal(t, []uint64{4, 3, 10}, []uint64{r.LogNum, r.PrevLogNum, r.NextFileNum})
			require.Equal(t, keys.SeqNum(0), r.LastSeq)
			require.Equal(t, ikey(t, "m#5,SET"), r.CompactPointers[2])
		})
	}
}

// TestReplayStops checks that a replay stops with the error its Problem or Edit function
// returns, and that a strict replay turns each problem into recovery's error.
func TestReplayStops(t *testing.T) {
	data, _ := manifestBytes(t, baseEdit(), edit(func(e *VersionEdit) { e.DeleteFile(1, 4) }))
	stop := errors.New("stop")
	_, _, err := ReplayManifest(bytes.NewReader(data), "M", ReplayOptions{Comparator: testICmp,
		Problem: func(p *ReplayProblem) error { return stop }})
	require.ErrorIs(t, err, stop)
	_, _, err = ReplayManifest(bytes.NewReader(data), "M", ReplayOptions{Comparator: testICmp,
		Edit: func(int64, int, *VersionEdit) error { return stop }})
	require.ErrorIs(t, err, stop)
	_, _, err = ReplayManifest(bytes.NewReader(data), "M", ReplayOptions{Comparator: testICmp})
	require.ErrorIs(t, err, dberr.ErrCorruption)
	require.Contains(t, err.Error(), "deletes file 000004 from L1")
	_, _, err = ReplayManifest(iotest.ErrReader(stop), "M", ReplayOptions{Comparator: testICmp})
	require.ErrorIs(t, err, stop)
}
