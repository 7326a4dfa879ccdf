package compaction

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
//	    start from an empty Version with these options (leveldb's defaults otherwise)
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
				opts = &Options{}
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
					case "max-mem-level":
						opts.MaxMemCompactLevel = int(n)
					default:
						td.Fatalf(t, "unknown argument %s", a)
					}
				}
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
