package compaction

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/datadriven"
)

// TestDropperDataDriven runs the text tests in testdata/drop. Commands:
//
//	define
//	add L3 000030 c#1,SET f#1,SET [SIZE]
//	    make the tree these files (the levels below a compaction decide whether a deletion
//	    marker still has something to shadow); prints the tree
//	drop level=N snapshot=SEQ
//	a#12,SET
//	a#9,DEL
//	    run a Dropper for a compaction of level N into N+1 whose oldest live snapshot (or, with
//	    none, the newest sequence number) is SEQ over the entries, which must come in internal-key
//	    order, and print each with "keep" or "drop". An entry written raw:BYTES is those bytes,
//	    too short to be an internal key; one written bad:KEY#SEQ is KEY with an unknown kind (7).
//	drop flush snapshot=SEQ|max
//	    the same for a memtable flush (NewFlushDropper); max is keys.MaxSeqNum, as in recovery
func TestDropperDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/drop", func(t *testing.T, path string) {
		vs := newVersionSet(nil, testDir, testICmp, nil)
		installTestVersion(vs, &VersionEdit{})
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "define":
				if err := installTestVersion(vs, parseEdit(t, td)); err != nil {
					return "error: " + err.Error()
				}
				if s := vs.current.String(); s != "" {
					return s
				}
				return "(empty)"

			case "drop":
				var d *Dropper
				if td.HasArg("flush") {
					snap := keys.MaxSeqNum
					if s, _ := td.Arg("snapshot"); s != "max" {
						snap = keys.SeqNum(intArg(t, td, "snapshot"))
					}
					d = NewFlushDropper(testICmp, snap)
				} else {
					c := newCompaction(vs.current, intArg(t, td, "level"))
					defer c.Release()
					d = NewDropper(c, keys.SeqNum(intArg(t, td, "snapshot")))
				}
				var b strings.Builder
				var prev []byte
				for _, line := range strings.Split(td.Input, "\n") {
					line = strings.TrimSpace(line)
					if line == "" {
						continue
					}
					k := dropTestKey(t, td, line)
					if prev != nil && keys.TrailerOf(prev) != 0 && keys.TrailerOf(k) != 0 &&
						testICmp.Compare(prev, k) >= 0 {
						td.Fatalf(t, "%s is not after the entry before it", line)
					}
					prev = k
					verdict := "keep"
					if d.Drop(k) {
						verdict = "drop"
					}
					fmt.Fprintf(&b, "%s %s\n", line, verdict)
				}
				return b.String()
			}
			td.Fatalf(t, "unknown command")
			return ""
		})
	})
}

// dropTestKey reads one entry of a drop command.
func dropTestKey(t *testing.T, td *datadriven.TestData, s string) []byte {
	if raw, ok := strings.CutPrefix(s, "raw:"); ok {
		if len(raw) >= keys.TrailerLen {
			td.Fatalf(t, "raw key %q is long enough to parse", raw)
		}
		return []byte(raw)
	}
	if bad, ok := strings.CutPrefix(s, "bad:"); ok {
		user, seq, ok := strings.Cut(bad, "#")
		if !ok {
			td.Fatalf(t, "want bad:KEY#SEQ, got %q", s)
		}
		k := ikey(t, user+"#"+seq+",SET")
		return keys.AppendInternalKey(nil, keys.UserKey(k), keys.SeqNum(mustUint(t, td, seq)), 7)
	}
	return ikey(t, s)
}

func mustUint(t *testing.T, td *datadriven.TestData, s string) uint64 {
	var n uint64
	if _, err := fmt.Sscan(s, &n); err != nil {
		td.Fatalf(t, "%q: %v", s, err)
	}
	return n
}
