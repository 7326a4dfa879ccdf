package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
)

var manifestCommand = &command{
	synopsis: "sstdump manifest [flags] MANIFEST",
	summary:  "print each VersionEdit of a MANIFEST, then the resulting level tree",
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
		var (
			bf     bytesFormat
			format string
		)
		fs.BoolVar(&bf.hex, "hex", false, "print user keys as hex")
		defineFormat(fs, &format)
		return func(e *env, args []string) error {
			if err := needArgs("manifest", args, 1, 1, "MANIFEST"); err != nil {
				return err
			}
			if err := checkFormat("manifest", format); err != nil {
				return err
			}
			return dumpManifest(e, args[0], bf, format == "json")
		}
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

// walkManifest replays the edits of the MANIFEST in f. Each edit that decodes is passed to
// onEdit (if not nil) before it is applied; damage and edits that cannot apply are reported to
// r; a torn tail goes to torn. It returns I/O errors and errors from onEdit.
func walkManifest(f io.Reader, path string, r *reporter, onEdit func(off int64, size int, e *compaction.VersionEdit) error, torn func(error)) (*manifestState, error) {
	s := &manifestState{files: make(map[uint64]liveFile)}
	var lastOff int64
	err := walkLog(f, path, logVisitor{
		record: func(off int64, rec []byte) error {
			lastOff = off
			var ed compaction.VersionEdit
			if err := ed.Decode(rec, path, off); err != nil {
				r.report(err)
				return nil
			}
			s.edits++
			if onEdit != nil {
				if err := onEdit(off, len(rec), &ed); err != nil {
					return err
				}
			}
			s.apply(&ed, path, off, r)
			return nil
		},
		corrupt: r.report,
		torn:    torn,
	})
	if err != nil {
		return nil, err
	}
	s.finish(path, lastOff, r)
	return s, nil
}

// apply applies one edit as leveldb's VersionSet::Builder does: deletions, then additions.
func (s *manifestState) apply(ed *compaction.VersionEdit, path string, off int64, r *reporter) {
	if ed.HasComparator {
		if s.hasComparator && ed.Comparator != s.comparator {
			r.reportf(off, "comparator changes from %q to %q", s.comparator, ed.Comparator)
		}
		s.comparator, s.hasComparator = ed.Comparator, true
	}
	if ed.HasLogNum {
		s.logNum, s.hasLog = ed.LogNum, true
	}
	if ed.HasPrevLogNum {
		s.prevLogNum, s.hasPrevLog = ed.PrevLogNum, true
	}
	if ed.HasNextFileNum {
		s.nextFile, s.hasNext = ed.NextFileNum, true
	}
	if ed.HasLastSeq {
		s.lastSeq, s.hasLastSeq = ed.LastSeq, true
	}
	for _, cp := range ed.CompactPointers {
		s.compactPointers[cp.Level] = cp.Key
	}
	for _, d := range sortedDeletions(ed) {
		if lf, ok := s.files[d.Num]; !ok || lf.level != d.Level {
			r.reportf(off, "edit deletes %06d from L%d, where it is not", d.Num, d.Level)
			continue
		}
		delete(s.files, d.Num)
	}
	for _, nf := range ed.NewFiles {
		if lf, ok := s.files[nf.Meta.Num]; ok {
			r.reportf(off, "edit adds %06d to L%d, but it is already in L%d", nf.Meta.Num, nf.Level, lf.level)
			continue
		}
		s.files[nf.Meta.Num] = liveFile{level: nf.Level, meta: nf.Meta}
	}
}

// finish sorts the live files into levels (level 0 by number, deeper levels by smallest key)
// and checks what recovery checks at the end: that deeper levels do not overlap and that the
// counters were recorded.
func (s *manifestState) finish(path string, lastOff int64, r *reporter) {
	icmp := keys.NewInternalComparator(keys.Bytewise)
	for _, lf := range s.files {
		s.levels[lf.level] = append(s.levels[lf.level], lf.meta)
	}
	for level, files := range s.levels {
		if level == 0 {
			sort.Slice(files, func(i, j int) bool { return files[i].Num < files[j].Num })
			continue
		}
		sort.Slice(files, func(i, j int) bool {
			if c := icmp.Compare(files[i].Smallest, files[j].Smallest); c != 0 {
				return c < 0
			}
			return files[i].Num < files[j].Num
		})
		if !s.knownOrder() {
			continue
		}
		for i := 1; i < len(files); i++ {
			if icmp.Compare(files[i-1].Largest, files[i].Smallest) >= 0 {
				r.reportf(-1, "L%d: files %06d and %06d overlap", level, files[i-1].Num, files[i].Num)
			}
		}
	}
	for _, m := range []struct {
		has  bool
		what string
	}{{s.hasNext, "next-file-number"}, {s.hasLog, "log-number"}, {s.hasLastSeq, "last-sequence"}} {
		if !m.has {
			r.reportf(-1, "no %s entry in %d edits", m.what, s.edits)
		}
	}
}

// sortedDeletions returns the edit's deletions by level, then number.
func sortedDeletions(ed *compaction.VersionEdit) []compaction.DeletedFile {
	ds := make([]compaction.DeletedFile, 0, len(ed.DeletedFiles))
	for d := range ed.DeletedFiles {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Level != ds[j].Level {
			return ds[i].Level < ds[j].Level
		}
		return ds[i].Num < ds[j].Num
	})
	return ds
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
	for _, d := range sortedDeletions(ed) {
		fmt.Fprintf(&b, "%sdeleted: L%d %06d\n", indent, d.Level, d.Num)
	}
	for _, nf := range ed.NewFiles {
		fmt.Fprintf(&b, "%sadded: L%d %s %d\n", indent, nf.Level, formatFile(nf.Meta, bf), nf.Meta.Size)
	}
	return b.String()
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
		var bytes uint64
		for _, f := range files {
			bytes += f.Size
		}
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

func dumpManifest(e *env, path string, bf bytesFormat, json bool) error {
	f, _, err := openFile(e, path)
	if err != nil {
		e.fileError(path, err)
		return nil
	}
	defer f.Close()
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
	}, func(err error) {
		if json {
			appendTornJSON(&w, "", err)
			e.out.write(w.line())
			return
		}
		e.out.str(tornText(err) + "\n")
	})
	r.flushSuppressed()
	if err != nil {
		if isOutputError(err) {
			return err
		}
		e.fileError(path, err)
		return nil
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

// isOutputError reports whether err is a failure to write the output rather than to read.
func isOutputError(err error) bool {
	if err == errBrokenPipe {
		return true
	}
	_, ok := err.(*writeError)
	return ok
}
