package compaction

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/datadriven"
)

// TestPickerDataDriven runs the text tests in testdata/picker. Commands:
//
//	reset [trigger=N] [base=BYTES] [target=BYTES] [multiplier=N]
//	    start over: empty tree, no compact pointers, leveldb's defaults for the options not given
//	    (target is Options.TargetFileSize, from which the grandparent limit (10x) and the
//	    expansion limit (25x) follow)
//	define
//	add L1 000012 a#5,SET f#9,DEL [SIZE]    (SIZE defaults to 100)
//	    replace the current Version with one holding exactly these files; prints the tree and
//	    the compaction score
//	pointer level=N [key=IKEY]
//	    set (or, without key, clear) the compact pointer of level N
//	seek L1 000012 [n=COUNT]
//	    charge the file COUNT lookups (default: its allowed seeks) with Version.RecordSeek;
//	    prints each call that made the file the seek candidate, and the seeks still allowed
//	pick [advance]
//	    print PickCompaction's compaction, or "no compaction"; with advance, record its new
//	    compact pointer as installing it would
//	compact-range bottom=N [start=KEY] [end=KEY] [before=NUM]
//	    print VersionSet.CompactRange's step, or "no compaction" (before defaults to past every
//	    file)
//	should-stop
//	a#5,SET
//	    feed the keys, in order, to ShouldStopBefore of the last compaction printed (its walk
//	    starting afresh) and print, for each key, whether the output would be cut before it
//	split [n=N]
//	    print the user keys SplitKeys(N) (default 2) cuts the last compaction printed at, one a
//	    line, or "no split"
//
// A compaction prints as:
//
//	L1 -> L2 (size, score 1.50)                  (or "seek", or "manual" for CompactRange)
//	inputs[0]: 000012:[a#5,SET-f#9,DEL]          (the files of L1)
//	inputs[1]: 000020:[a#3,SET-c#3,SET]          (the files of L2; a step of CompactRange
//	                                              may go on with inputs[2] and deeper)
//	grandparents: 000030:[...] (2000 bytes)      (the files of L3 in the compaction's range)
//	trivial-move: no
//	pointer: L1 f#9,DEL                           (where the next size compaction of L1 starts)
//	next: last                                    (CompactRange only: "last", or "from KEY",
//	                                              where the next step starts; "from start"
//	                                              for the range's unbounded start)
func TestPickerDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/picker", func(t *testing.T, path string) {
		var vs *VersionSet
		var last *Compaction
		reset := func(opts *Options) {
			if last != nil {
				last.Release()
				last = nil
			}
			vs = newVersionSet(nil, testDir, testICmp, opts)
			installTestVersion(vs, &VersionEdit{})
		}
		reset(nil)
		defer func() {
			if last != nil {
				last.Release()
			}
		}()
		show := func(c *Compaction, manual bool) string {
			if last != nil {
				last.Release()
			}
			last = c
			if c == nil {
				return "no compaction"
			}
			return compactionString(c, manual)
		}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "reset":
				opts := &Options{}
				for _, a := range td.CmdArgs {
					n, err := strconv.ParseInt(a.Val, 10, 64)
					if err != nil {
						td.Fatalf(t, "%s: %v", a, err)
					}
					switch a.Key {
					case "trigger":
						opts.L0CompactionTrigger = int(n)
					case "base":
						opts.MaxBytesForLevelBase = n
					case "target":
						opts.TargetFileSize = n
					case "multiplier":
						opts.LevelSizeMultiplier = int(n)
					default:
						td.Fatalf(t, "unknown argument %s", a)
					}
				}
				reset(opts)
				return ""

			case "define":
				if last != nil {
					last.Release()
					last = nil
				}
				if err := installTestVersion(vs, parseEdit(t, td)); err != nil {
					return "error: " + err.Error()
				}
				score, level := vs.current.CompactionScore()
				return fmt.Sprintf("%sscore L%d %.2f", vs.current, level, score)

			case "pointer":
				level := intArg(t, td, "level")
				if k, ok := td.Arg("key"); ok {
					vs.compactPointers[level] = ikey(t, k)
				} else {
					vs.compactPointers[level] = nil
				}
				return ""

			case "seek":
				if len(td.CmdArgs) < 2 {
					td.Fatalf(t, "want: seek L1 000012 [n=COUNT]")
				}
				level := parseLevel(t, td, td.CmdArgs[0].Key)
				num, err := strconv.ParseUint(td.CmdArgs[1].Key, 10, 64)
				if err != nil {
					td.Fatalf(t, "%v", err)
				}
				f := findTestFile(t, td, vs.current, level, num)
				n := f.AllowedSeeks.Load()
				if td.HasArg("n") {
					n = int64(intArg(t, td, "n"))
				}
				var b strings.Builder
				for i := int64(1); i <= n; i++ {
					if vs.current.RecordSeek(f, level) {
						fmt.Fprintf(&b, "seek %d made %06d the seek candidate\n", i, f.Num)
					}
				}
				fmt.Fprintf(&b, "%06d allows %d more seeks", f.Num, f.AllowedSeeks.Load())
				return b.String()

			case "pick":
				c := vs.PickCompaction()
				out := show(c, false)
				if c != nil && td.HasArg("advance") {
					for _, cp := range c.Edit.CompactPointers {
						vs.compactPointers[cp.Level] = cp.Key
					}
				}
				return out

			case "compact-range":
				before := uint64(1 << 62)
				if td.HasArg("before") {
					before = uint64(intArg(t, td, "before"))
				}
				return show(vs.CompactRange(intArg(t, td, "bottom"), keyArg(td, "start"), keyArg(td, "end"), before), true)

			case "should-stop":
				if last == nil {
					td.Fatalf(t, "no compaction to ask")
				}
				c := last
				c.gpIndex, c.seenKey, c.overlapped = 0, false, 0
				var b strings.Builder
				for _, line := range strings.Split(td.Input, "\n") {
					line = strings.TrimSpace(line)
					if line == "" {
						continue
					}
					stop := c.ShouldStopBefore(ikey(t, line))
					fmt.Fprintf(&b, "%s %s\n", line, map[bool]string{true: "stop", false: "-"}[stop])
				}
				return b.String()
			case "split":
				if last == nil {
					td.Fatalf(t, "no compaction to split")
				}
				n := 2
				if v, ok := td.Arg("n"); ok {
					n, _ = strconv.Atoi(v)
				}
				splits := last.SplitKeys(n)
				if len(splits) == 0 {
					return "no split\n"
				}
				var b strings.Builder
				for _, k := range splits {
					fmt.Fprintf(&b, "%s\n", k)
				}
				return b.String()
			}
			td.Fatalf(t, "unknown command")
			return ""
		})
	})
}

// installTestVersion makes the Version e builds on an empty tree current in vs, with the next
// file number and the last sequence set past every file's, as a real VersionSet would have them.
func installTestVersion(vs *VersionSet, e *VersionEdit) error {
	b := newBuilder(vs.icmp, &vs.opts, nil)
	if err := b.apply(e); err != nil {
		return err
	}
	v, err := b.build()
	if err != nil {
		return err
	}
	for _, files := range v.Levels {
		for _, f := range files {
			vs.MarkFileNumberUsed(f.Num)
			for _, k := range [][]byte{f.Smallest, f.Largest} {
				if seq, _ := keys.SplitTrailer(keys.TrailerOf(k)); seq > vs.lastSeq {
					vs.lastSeq = seq
				}
			}
		}
	}
	vs.appendVersion(v)
	return nil
}

func findTestFile(t *testing.T, td *datadriven.TestData, v *Version, level int, num uint64) *FileMetadata {
	for _, f := range v.Levels[level] {
		if f.Num == num {
			return f
		}
	}
	td.Fatalf(t, "L%d holds no file %06d", level, num)
	return nil
}

// compactionString prints a compaction as TestPickerDataDriven documents; manual marks one from
// CompactRange.
func compactionString(c *Compaction, manual bool) string {
	var b strings.Builder
	switch score, _ := c.version.CompactionScore(); {
	case manual:
		fmt.Fprintf(&b, "L%d -> L%d (manual)\n", c.Level, c.OutputLevel())
	case c.Seek:
		fmt.Fprintf(&b, "L%d -> L%d (seek)\n", c.Level, c.Level+1)
	default:
		fmt.Fprintf(&b, "L%d -> L%d (size, score %.2f)\n", c.Level, c.Level+1, score)
	}
	for i, files := range c.Inputs {
		fmt.Fprintf(&b, "inputs[%d]: %s\n", i, fileList(files))
	}
	fmt.Fprintf(&b, "grandparents: %s (%d bytes)\n", fileList(c.Grandparents), totalSize(c.Grandparents))
	fmt.Fprintf(&b, "trivial-move: %s\n", map[bool]string{true: "yes", false: "no"}[c.IsTrivialMove()])
	for _, cp := range c.Edit.CompactPointers {
		fmt.Fprintf(&b, "pointer: L%d %s\n", cp.Level, keys.FormatInternalKey(cp.Key))
	}
	switch {
	case !manual:
	case c.Last:
		b.WriteString("next: last\n")
	case c.Resume == nil:
		b.WriteString("next: from start\n")
	default:
		fmt.Fprintf(&b, "next: from %s\n", c.Resume)
	}
	return b.String()
}
