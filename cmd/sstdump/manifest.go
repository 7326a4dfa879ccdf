package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
)

var manifestCommand = &command{
	synopsis: "sstdump manifest [flags] MANIFEST",
	summary:  "print each VersionEdit of a MANIFEST, then the resulting level tree",
	arg:      "MANIFEST",
	doc: `
Prints each VersionEdit of the MANIFEST with its offset and size, one field per line by name
(comparator, log, prev-log, next-file, last-seq, compact-pointer, deleted, added), then the
state the edits add up to: the counters and, per level, the live files as
NUMBER:[smallest-largest] SIZE, which is how leveldb and Strata print them.

The edits are replayed as a DB's recovery does; an edit that deletes a file that is not
there, adds one twice, or leaves two files of a level from L1 down overlapping, is reported
on stderr with the MANIFEST's name and the edit's offset, as is damage to the file itself,
and the exit status is then 1. A torn tail (an edit cut short by a crash) is shown and
ignored, as recovery ignores it. With --format=json each edit is one JSON object, then the
torn tail and the state (see docs/sstdump.md).`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var bf bytesFormat
		fs.BoolVar(&bf.hex, "hex", false, "print user keys as hex")
		return func(e *env, args []string) error { return dumpManifest(e, args[0], bf) }
	},
}

// manifestState is what replaying a MANIFEST's edits gives: the counters and the live files.
type manifestState struct {
	edits int

	comparator                                 string
	logNum, prevLogNum, nextFile               uint64
	lastSeq                                    keys.SeqNum
	hasComparator, hasLog, hasPrevLog, hasNext bool
	hasLastSeq                                 bool
	compactPointers                            [compaction.NumLevels][]byte
	files                                      map[uint64]liveFile // by file number
	levels                                     [compaction.NumLevels][]*compaction.FileMetadata
}

type liveFile struct {
	level int
	meta  *compaction.FileMetadata
}

// knownOrder reports whether sstdump knows the order of the DB's user keys: bytewise, which is
// also what a MANIFEST that names no comparator means.
func (s *manifestState) knownOrder() bool {
	return !s.hasComparator || s.comparator == keys.BytewiseName
}

// walkManifest replays the edits of the MANIFEST in f as recovery does, but going on past what
// recovery refuses (compaction.Replay, tolerant, with any comparator: keys are checked for
// order only when it is bytewise). Each edit that decodes is passed to onEdit (if not nil)
// before it is applied; damage and edits that cannot apply are reported to r; a torn tail goes
// to torn. It returns I/O errors and errors from onEdit.
func walkManifest(f io.Reader, path string, r *reporter, onEdit func(off int64, size int, e *compaction.VersionEdit) error, torn func(error)) (*manifestState, error) {
	rp := compaction.NewReplay(path, compaction.ReplayOptions{
		Comparator:    keys.NewInternalComparator(keys.Bytewise),
		AnyComparator: true,
		Problem: func(p *compaction.ReplayProblem) error {
			reportProblem(r, p)
			return nil
		},
		Edit: onEdit,
	})
	if err := walkLog(f, path, logVisitor{record: rp.Record, corrupt: r.report, torn: torn}); err != nil {
		return nil, err
	}
	v, err := rp.Finish()
	if err != nil {
		return nil, err
	}
	s := &manifestState{
		edits:           rp.Edits,
		comparator:      rp.Comparator,
		logNum:          rp.LogNum,
		prevLogNum:      rp.PrevLogNum,
		nextFile:        rp.NextFileNum,
		lastSeq:         rp.LastSeq,
		hasComparator:   rp.HasComparator,
		hasLog:          rp.HasLogNum,
		hasPrevLog:      rp.HasPrevLogNum,
		hasNext:         rp.HasNextFileNum,
		hasLastSeq:      rp.HasLastSeq,
		compactPointers: rp.CompactPointers,
		files:           make(map[uint64]liveFile),
		levels:          v.Levels,
	}
	for level, files := range v.Levels {
		for _, m := range files {
			s.files[m.Num] = liveFile{level: level, meta: m}
		}
	}
	return s, nil
}

// reportProblem reports what a replay refused, in sstdump's words.
func reportProblem(r *reporter, p *compaction.ReplayProblem) {
	switch p.Kind {
	case compaction.ProblemUndecodable:
		r.report(p.Err)
	case compaction.ProblemComparator:
		r.reportf(p.Offset, "comparator changes from %q to %q", p.Want, p.Comparator)
	case compaction.ProblemDeleteAbsent:
		r.reportf(p.Offset, "edit deletes %06d from L%d, where it is not", p.Num, p.Level)
	case compaction.ProblemAddPresent:
		r.reportf(p.Offset, "edit adds %06d to L%d, but it is already in L%d", p.Num, p.Level, p.Held)
	case compaction.ProblemOverlap:
		r.reportf(p.Offset, "L%d: files %06d and %06d overlap", p.Level, p.File.Num, p.Other.Num)
	case compaction.ProblemNoCounter:
		r.reportf(p.Offset, "no %s entry in %d edits", p.Counter, p.Edits)
	default:
		r.reportf(p.Offset, "%s", p.Reason)
	}
}

// formatFile prints a file as compaction.FileMetadata.String does, `000012:[a#5,SET-f#9,DEL]`,
// with keys printed in bf's form.
func formatFile(m *compaction.FileMetadata, bf bytesFormat) string {
	return fmt.Sprintf("%06d:[%s-%s]", m.Num, formatKey(m.Smallest, true, bf), formatKey(m.Largest, true, bf))
}

// formatEdit prints an edit as compaction.VersionEdit.String does, one field per line, each
// line indented.
func formatEdit(ed *compaction.VersionEdit, bf bytesFormat, indent string) string {
	var b strings.Builder
	if ed.HasComparator {
		fmt.Fprintf(&b, "%scomparator: %s\n", indent, ed.Comparator)
	}
	if ed.HasLogNum {
		fmt.Fprintf(&b, "%slog: %d\n", indent, ed.LogNum)
	}
	if ed.HasPrevLogNum {
		fmt.Fprintf(&b, "%sprev-log: %d\n", indent, ed.PrevLogNum)
	}
	if ed.HasNextFileNum {
		fmt.Fprintf(&b, "%snext-file: %d\n", indent, ed.NextFileNum)
	}
	if ed.HasLastSeq {
		fmt.Fprintf(&b, "%slast-seq: %d\n", indent, ed.LastSeq)
	}
	for _, cp := range ed.CompactPointers {
		fmt.Fprintf(&b, "%scompact-pointer: L%d %s\n", indent, cp.Level, formatKey(cp.Key, true, bf))
	}
	for _, d := range ed.SortedDeletions() {
		fmt.Fprintf(&b, "%sdeleted: L%d %06d\n", indent, d.Level, d.Num)
	}
	for _, nf := range ed.NewFiles {
		fmt.Fprintf(&b, "%sadded: L%d %s %d\n", indent, nf.Level, formatFile(nf.Meta, bf), nf.Meta.Size)
	}
	return b.String()
}

// levelBytes returns the size of the live files of level.
func (s *manifestState) levelBytes(level int) uint64 {
	var bytes uint64
	for _, f := range s.levels[level] {
		bytes += f.Size
	}
	return bytes
}

// formatTree prints the live files level by level, as compaction.Version.DebugString does
// (without the compaction score), each line indented.
func (s *manifestState) formatTree(bf bytesFormat, indent string) string {
	var b strings.Builder
	total := 0
	for level, files := range s.levels {
		if len(files) == 0 {
			continue
		}
		bytes := s.levelBytes(level)
		fmt.Fprintf(&b, "%sL%d: %s, %d bytes\n", indent, level, plural(len(files), "file"), bytes)
		for _, f := range files {
			fmt.Fprintf(&b, "%s  %s %d\n", indent, formatFile(f, bf), f.Size)
		}
		total += len(files)
	}
	if total == 0 {
		b.WriteString(indent + "no live files\n")
	}
	return b.String()
}

// formatCounters prints the counters, one per line.
func (s *manifestState) formatCounters(bf bytesFormat, indent string) string {
	var b strings.Builder
	field := func(has bool, name string, v any) {
		if has {
			fmt.Fprintf(&b, "%s%s: %v\n", indent, name, v)
		} else {
			fmt.Fprintf(&b, "%s%s: (never recorded)\n", indent, name)
		}
	}
	cmp := s.comparator
	if !s.hasComparator {
		cmp = "(not recorded; leveldb assumes " + keys.BytewiseName + ")"
	}
	fmt.Fprintf(&b, "%scomparator: %s\n", indent, cmp)
	field(s.hasLog, "log", s.logNum)
	field(s.hasPrevLog, "prev-log", s.prevLogNum)
	field(s.hasNext, "next-file", s.nextFile)
	field(s.hasLastSeq, "last-seq", s.lastSeq)
	for level, cp := range s.compactPointers {
		if cp != nil {
			fmt.Fprintf(&b, "%scompact-pointer: L%d %s\n", indent, level, formatKey(cp, true, bf))
		}
	}
	return b.String()
}

// plural prints a count and a noun: "1 file", "2 files", "3 entries".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if l := len(what); l > 1 && what[l-1] == 'y' && !strings.ContainsRune("aeiou", rune(what[l-2])) {
		return fmt.Sprintf("%d %sies", n, what[:l-1])
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func dumpManifest(e *env, path string, bf bytesFormat) error {
	return dumpFile(e, path, func(f vfs.File) error { return printManifest(e, f, path, bf) })
}

// printManifest prints the edits of the MANIFEST f, then the state they give.
func printManifest(e *env, f vfs.File, path string, bf bytesFormat) error {
	json := e.json
	r := &reporter{path: path, emit: e.stderrFindings()}
	var w jsonWriter
	n := 0
	s, err := walkManifest(f, path, r, func(off int64, size int, ed *compaction.VersionEdit) error {
		n++
		if json {
			appendEditJSON(&w, n, off, size, ed, bf)
			e.out.write(w.line())
		} else {
			fmt.Fprintf(e.out.w, "edit %d at offset %d, %d bytes:\n%s", n, off, size, formatEdit(ed, bf, "  "))
		}
		return e.out.err()
	}, func(err error) { e.printTorn(&w, err) })
	r.flushSuppressed()
	if err != nil {
		return err
	}
	if json {
		w.object("")
		w.str("type", "state")
		w.int("edits", int64(s.edits))
		s.appendJSON(&w, bf)
		w.endObject()
		e.out.write(w.line())
		return nil
	}
	fmt.Fprintf(e.out.w, "\nstate after %s:\n%s%s", plural(s.edits, "edit"), s.formatCounters(bf, "  "), s.formatTree(bf, "  "))
	return nil
}

// dumpFile opens the file at path and prints it with print. A file that cannot be opened, or
// that print cannot read to its end, is reported as fileError reports it; only a failure to
// write the output is returned.
func dumpFile(e *env, path string, print func(f vfs.File) error) error {
	f, _, err := openFile(e, path)
	if err != nil {
		e.fileError(path, err)
		return nil
	}
	defer f.Close()
	if err := print(f); err != nil {
		if isOutputError(err) {
			return err
		}
		e.fileError(path, err)
	}
	return nil
}

// isOutputError reports whether err is a failure to write the output rather than to read.
func isOutputError(err error) bool {
	if err == errBrokenPipe {
		return true
	}
	_, ok := err.(*writeError)
	return ok
}
