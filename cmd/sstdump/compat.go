package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
)

var compatCommand = &command{
	synopsis: "sstdump compat [--format=json | --json] DIR",
	summary:  "tell whether C++ leveldb 1.23 can open a DB and read every key, and if not why",
	arg:      "DIR",
	doc: `
Tells whether C++ leveldb 1.23, as Debian's libleveldb ships it, can open the DB in DIR and
read every key, and if not, why: one line per reason, naming the file, then the verdict.

It checks what leveldb 1.23 needs: CURRENT ends in a newline and names a MANIFEST that
exists; the MANIFEST decodes with leveldb's tags and its edits apply; its comparator is
leveldb.BytewiseComparator, the only one stock leveldb knows (or is not recorded); every
table it names is on disk, as large as it records, with leveldb's footer magic, blocks
stored as leveldb 1.23 stores them (no compression or snappy) whose checksums verify, and
the keys it records; every log leveldb replays (numbered from the MANIFEST's log number
on, or its previous log number) holds records and WriteBatches that check out. Any damage
the checks of 'sstdump check' find counts against compatibility: the verdict vouches for a
DB that leveldb reads whole.

Notes, which leave the DB compatible: a torn log tail (leveldb ignores it, as Strata does),
meta blocks leveldb 1.23 ignores (filters under another name than its bloom filter's), a
table longer than the MANIFEST records (leveldb reads the part it records), and files the
MANIFEST does not reference (leveldb deletes them when it opens the DB). Files whose names
leveldb does not parse are ignored, as leveldb ignores them; the LOCK is not looked at.

With --format=json (or --json) each reason and note is one JSON object, and the last line
is a "compat" object whose "compatible" member is the verdict (see docs/sstdump.md).

Exit status 0 when leveldb 1.23 can open the DB and read every key, 1 when it cannot, 2 when
DIR is not a directory, holds no DB (no CURRENT, MANIFEST, table or log), or a file could
not be read.`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		asJSON := fs.Bool("json", false, "print JSON Lines, as --format=json does")
		return func(e *env, args []string) error {
			if *asJSON {
				if formatSet(fs) && !e.json {
					return usagef("compat", "compat: --json and --format=text contradict each other")
				}
				e.json = true
			}
			return compat(e, args[0])
		}
	},
}

// formatSet reports whether --format was given on the command line.
func formatSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "format" })
	return set
}

// compatChecker is the state of one compat: what was checked and what was found.
type compatChecker struct {
	e    *env
	dir  string
	disk []diskFile
	emit func(finding) // prints a finding and counts it

	manifest string         // the MANIFEST CURRENT names, once known
	s        *manifestState // the MANIFEST replayed, once read

	tables, logs    int // live files checked
	problems, notes int
	unreadable      int  // files that could not be read (reported on stderr)
	notDB           bool // no CURRENT and no DB files: wrong input, no verdict
	badManifest     bool // leveldb refuses the MANIFEST: the files it names are still checked
}

// compat checks the DB in dir for C++ leveldb 1.23. It returns only output errors: what it
// finds is printed, and unreadable files are reported on stderr.
func compat(e *env, dir string) error {
	fi, err := e.fs.Stat(dir)
	if err != nil {
		e.fileError(dir, err)
		return nil
	}
	if !fi.IsDir() {
		return usagef("compat", "compat: %s is not a directory", dir)
	}
	disk, err := listDBFiles(e, dir)
	if err != nil {
		e.fileError(dir, err)
		return nil
	}
	c := &compatChecker{e: e, dir: dir, disk: disk}
	out := e.stdoutFindings(e.json)
	c.emit = func(f finding) {
		switch {
		case f.suppressed > 0:
			c.problems += f.suppressed
		case f.note:
			c.notes++
		default:
			c.problems++
		}
		out(f)
	}
	name, ok := c.current()
	if c.notDB {
		return nil // reported as wrong input
	}
	if !ok {
		return c.summary()
	}
	c.manifest = name
	if !c.readManifest() {
		return c.summary()
	}
	c.checkComparator()
	if err := c.checkLiveFiles(); err != nil {
		return err
	}
	return c.summary()
}

// problem reports a reason leveldb 1.23 cannot open the DB or read every key, about path.
func (c *compatChecker) problem(path, format string, args ...any) {
	c.emit(finding{file: path, offset: dberr.NoOffset, reason: fmt.Sprintf(format, args...)})
}

// note reports something about path that leaves the DB compatible.
func (c *compatChecker) note(path, format string, args ...any) {
	c.emit(finding{file: path, offset: dberr.NoOffset, note: true, reason: fmt.Sprintf(format, args...)})
}

// unreadableFile reports a file that could not be read: the verdict is then unknown.
func (c *compatChecker) unreadableFile(path string, err error) {
	c.e.fileError(path, err)
	c.unreadable++
}

// currentReadLimit is how much of CURRENT is read: compaction.ParseCurrent refuses more than
// 1 KiB, and must see that there is more.
const currentReadLimit = 1<<10 + 1

// current reads CURRENT with compaction.ParseCurrent's checks, which are leveldb's, and returns
// the MANIFEST name it holds. A CURRENT without its final newline is reported, and the name
// it holds is then checked as if the newline were there, so that the rest of the DB is
// checked too. A directory without CURRENT that holds no DB files is wrong input.
func (c *compatChecker) current() (string, bool) {
	path := filepath.Join(c.dir, filenames.CurrentName)
	f, _, err := openFile(c.e, path)
	if errors.Is(err, os.ErrNotExist) {
		if !looksLikeDB(c.disk) {
			c.e.errorf(exitUsage, "%s: no database here: no CURRENT, and no MANIFEST, table or log", c.dir)
			c.notDB = true
			return "", false
		}
		c.problem(path, "does not exist: leveldb 1.23 finds no DB here (opened with create_if_missing, "+
			"it starts an empty DB and deletes the tables and logs)")
		return "", false
	}
	if err != nil {
		c.unreadableFile(path, err)
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, currentReadLimit))
	if err != nil {
		c.unreadableFile(path, err)
		return "", false
	}
	if len(b) > 0 && len(b) < currentReadLimit && b[len(b)-1] != '\n' {
		c.problem(path, "does not end with a newline, which leveldb 1.23 requires: it refuses to open the DB")
		b = append(b, '\n')
	}
	name, _, err := compaction.ParseCurrent(bytes.NewReader(b), path)
	if err != nil {
		fd := findingOf(path, err)
		fd.reason += ": leveldb 1.23 cannot open the DB"
		c.emit(fd)
		return "", false
	}
	return name, true
}

// looksLikeDB reports whether a directory holds files of a DB: a MANIFEST, a table or a log.
func looksLikeDB(disk []diskFile) bool {
	for _, df := range disk {
		switch df.kind {
		case filenames.Manifest, filenames.Table, filenames.Log:
			return true
		}
	}
	return false
}

// readManifest replays the MANIFEST CURRENT names, reporting its damage and the edits that do
// not apply (walkManifest). A torn tail is a note: leveldb stops reading there, as Strata does.
func (c *compatChecker) readManifest() bool {
	path := filepath.Join(c.dir, c.manifest)
	f, _, err := openFile(c.e, path)
	if errors.Is(err, os.ErrNotExist) {
		c.problem(filepath.Join(c.dir, filenames.CurrentName), "names %s, which does not exist: leveldb 1.23 cannot open the DB", c.manifest)
		return false
	}
	if err != nil {
		c.unreadableFile(path, err)
		return false
	}
	defer f.Close()
	r := &reporter{path: path, emit: c.emit}
	s, err := walkManifest(f, path, r, nil, func(err error) { c.emit(tornNote(path, err)) })
	r.flushSuppressed()
	if err != nil {
		c.unreadableFile(path, err)
		return false
	}
	c.s, c.badManifest = s, r.problems > 0
	return true
}

// checkComparator reports a comparator stock leveldb does not know. leveldb compares the name
// the MANIFEST records with the name of the comparator the program opens the DB with; the
// stock library only has leveldb.BytewiseComparator. No name recorded (RepairDB's MANIFESTs)
// is fine.
func (c *compatChecker) checkComparator() {
	if !c.s.hasComparator || c.s.comparator == keys.BytewiseName {
		return
	}
	c.problem(filepath.Join(c.dir, c.manifest), "comparator %q: stock leveldb 1.23 knows only %q and refuses to open the DB; "+
		"a program that opens it with a comparator of its own named %q can", c.s.comparator, keys.BytewiseName, c.s.comparator)
}

// summary prints the verdict: the last line (text) or a "compat" object (JSON).
func (c *compatChecker) summary() error {
	e := c.e
	e.prog.clear()
	compatible := c.problems == 0 && c.unreadable == 0
	if c.problems > 0 {
		e.raise(exitProblem)
	}
	if e.json {
		var w jsonWriter
		w.object("")
		w.str("type", "compat")
		w.str("dir", c.dir)
		w.bool("compatible", compatible)
		if c.manifest != "" {
			w.str("current", c.manifest)
		}
		if c.s != nil {
			if c.s.hasComparator {
				w.str("comparator", c.s.comparator)
			} else {
				w.null("comparator")
			}
			w.int("tables", int64(c.tables))
			w.int("logs", int64(c.logs))
		}
		w.int("problems", int64(c.problems))
		w.int("notes", int64(c.notes))
		w.int("unreadable", int64(c.unreadable))
		w.endObject()
		e.out.write(w.line())
		return e.out.err()
	}
	var verdict string
	switch {
	case c.problems > 0:
		verdict = "not compatible with leveldb 1.23: " + plural(c.problems, "problem")
	case c.unreadable > 0:
		verdict = "compatibility with leveldb 1.23 unknown: " + plural(c.unreadable, "file") + " could not be read"
	default:
		verdict = "compatible with leveldb 1.23: it can open the DB and read every key"
	}
	e.out.str(fmt.Sprintf("%s: %s (checked %s)\n", c.dir, verdict, c.checked()))
	return e.out.err()
}

// checked says what was checked: "CURRENT, MANIFEST-000002, 3 tables, 1 log".
func (c *compatChecker) checked() string {
	s := "CURRENT"
	if c.s != nil {
		s += fmt.Sprintf(", %s, %s, %s", c.manifest, plural(c.tables, "table"), plural(c.logs, "log"))
	}
	if c.notes > 0 {
		s += "; " + plural(c.notes, "note")
	}
	return s
}
