package compaction

// The datadriven suites of this package, each over its own directory of testdata: version
// (Version queries and edits), picker (PickCompaction, CompactRange, seeks, output cuts) and drop
// (the Dropper's keep-or-drop verdicts).

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/datadriven"
	"github.com/stretchr/testify/require"
)

// TestVersionDataDriven runs the text tests in testdata/version. Commands:
//
//	reset [trigger=N] [base=BYTES] [max-mem-level=N]
//	    start from an empty Version with these options (leveldb's defaults otherwise); any
//	    option resetOptions reads is accepted
//	apply
//	add L1 000012 a#5,SET f#9,DEL [SIZE]    (SIZE defaults to 100)
//	delete L1 000012
//	    apply one edit made of the input lines to the Version and print the tree, or the error
//	debug
//	    print Version.DebugString
//	overlaps level=N [start=KEY] [end=KEY]           Version.Overlaps
//	overlapping-inputs level=N [start=KEY] [end=KEY] Version.OverlappingInputs
//	overlap-in-level level=N [start=KEY] [end=KEY]   Version.OverlapInLevel
//	find-file level=N key=IKEY                       Version.FindFile
//	candidates key=KEY seq=N                         Version.AppendCandidates
//	pick-level start=KEY end=KEY [limit=BYTES]       Version.PickLevelForMemTableOutput
//	score                                            Version.CompactionScore
//
// A missing start or end is nil (unbounded); the limit defaults to the options' grandparent
// limit.
func TestVersionDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/version", func(t *testing.T, path string) {
		opts := DefaultOptions()
		v := newBuilder(testICmp, opts, nil).base
		v.finalize()
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "reset":
				opts = resetOptions(t, td)
				*opts = opts.normalized()
				v = newBuilder(testICmp, opts, nil).base
				v.finalize()
				return ""

			case "apply":
				e := parseEdit(t, td)
				b := newBuilder(testICmp, opts, v)
				if err := b.apply(e); err != nil {
					return "error: " + err.Error()
				}
				nv, err := b.build()
				if err != nil {
					return "error: " + err.Error()
				}
				v = nv
				if s := v.String(); s != "" {
					return s
				}
				return "(empty)"

			case "debug":
				return v.DebugString()

			case "overlaps", "overlapping-inputs":
				level := intArg(t, td, "level")
				start, end := keyArg(td, "start"), keyArg(td, "end")
				var files []*FileMetadata
				if td.Cmd == "overlaps" {
					files = v.Overlaps(level, start, end)
				} else {
					files = v.OverlappingInputs(level, start, end)
				}
				return fileList(files)

			case "overlap-in-level":
				return strconv.FormatBool(v.OverlapInLevel(intArg(t, td, "level"), keyArg(td, "start"), keyArg(td, "end")))

			case "find-file":
				k, _ := td.Arg("key")
				return strconv.Itoa(v.FindFile(intArg(t, td, "level"), ikey(t, k)))

			case "candidates":
				lookup := keys.AppendInternalKey(nil, keyArg(td, "key"), keys.SeqNum(intArg(t, td, "seq")), keys.KindMax)
				var b strings.Builder
				for _, c := range v.AppendCandidates(nil, lookup) {
					fmt.Fprintf(&b, "L%d %s\n", c.Level, c.File)
				}
				if b.Len() == 0 {
					return "none"
				}
				return b.String()

			case "pick-level":
				limit := opts.MaxGrandparentOverlapBytes()
				if td.HasArg("limit") {
					limit = int64(intArg(t, td, "limit"))
				}
				return fmt.Sprintf("L%d", v.PickLevelForMemTableOutput(keyArg(td, "start"), keyArg(td, "end"), limit))

			case "score":
				score, level := v.CompactionScore()
				return fmt.Sprintf("L%d %.3f", level, score)
			}
			td.Fatalf(t, "unknown command")
			return ""
		})
	})
}

func intArg(t *testing.T, td *datadriven.TestData, key string) int {
	s, ok := td.Arg(key)
	if !ok {
		td.Fatalf(t, "missing %s=", key)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		td.Fatalf(t, "%s=%s: %v", key, s, err)
	}
	return n
}

// keyArg returns the user key argument named key, or nil when it is absent.
func keyArg(td *datadriven.TestData, key string) []byte {
	s, ok := td.Arg(key)
	if !ok {
		return nil
	}
	return []byte(s)
}

func fileList(files []*FileMetadata) string {
	if len(files) == 0 {
		return "none"
	}
	var parts []string
	for _, f := range files {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, " ")
}

// parseLevel reads "L3".
func parseLevel(t *testing.T, td *datadriven.TestData, s string) int {
	level, err := strconv.Atoi(strings.TrimPrefix(s, "L"))
	if err != nil || !strings.HasPrefix(s, "L") {
		td.Fatalf(t, "bad level %q", s)
	}
	return level
}

// parseEdit reads the input lines of an apply command: "add L1 000012 a#5,SET f#9,DEL [SIZE]"
// and "delete L1 000012".
func parseEdit(t *testing.T, td *datadriven.TestData) *VersionEdit {
	var e VersionEdit
	for _, line := range strings.Split(td.Input, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "add" && (len(f) == 5 || len(f) == 6):
			num, err := strconv.ParseUint(f[2], 10, 64)
			require.NoError(t, err, line)
			size := uint64(100)
			if len(f) == 6 {
				size, err = strconv.ParseUint(f[5], 10, 64)
				require.NoError(t, err, line)
			}
			e.AddFile(parseLevel(t, td, f[1]), &FileMetadata{Num: num, Size: size, Smallest: ikey(t, f[3]), Largest: ikey(t, f[4])})
		case f[0] == "delete" && len(f) == 3:
			num, err := strconv.ParseUint(f[2], 10, 64)
			require.NoError(t, err, line)
			e.DeleteFile(parseLevel(t, td, f[1]), num)
		default:
			td.Fatalf(t, "bad edit line %q", line)
		}
	}
	return &e
}

// TestPickerDataDriven runs the text tests in testdata/picker. Commands:
//
//	reset [trigger=N] [base=BYTES] [target=BYTES] [multiplier=N]
//	    start over: empty tree, no compact pointers, leveldb's defaults for the options not given
//	    (target is Options.TargetFileSize, from which the grandparent limit (10x) and the
//	    expansion limit (25x) follow); any option resetOptions reads is accepted
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
				reset(resetOptions(t, td))
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

// resetOptions reads the options of a reset command, the same in every suite:
// trigger=N (L0CompactionTrigger), base=BYTES (MaxBytesForLevelBase), target=BYTES
// (TargetFileSize), multiplier=N (LevelSizeMultiplier), max-mem-level=N (MaxMemCompactLevel).
// Options not given stay zero, for normalized to fill in with leveldb's defaults.
func resetOptions(t *testing.T, td *datadriven.TestData) *Options {
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
		case "max-mem-level":
			opts.MaxMemCompactLevel = int(n)
		default:
			td.Fatalf(t, "unknown argument %s", a)
		}
	}
	return opts
}
