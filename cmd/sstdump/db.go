package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/filenames"
)

var dbCommand = &command{
	synopsis: "sstdump db [flags] DIR",
	summary:  "print a DB's level tree from CURRENT and its MANIFEST; --check checks it all",
	arg:      "DIR",
	doc: `
Reads CURRENT and the MANIFEST it names (read-only; the DB's LOCK is not taken, so this works
while the DB is open) and prints the level tree, each live table as
NUMBER:[smallest-largest] SIZE, then a summary: files and bytes per level, the last sequence
number, the log numbers, the next file number, the comparator, and the live logs.

With --check it then checks every live table (as 'sstdump check' does, and that its first
and last keys and its size are the ones the MANIFEST records), every live log and the
MANIFEST, and lists the files on disk the MANIFEST does not reference (obsolete files a crash
left behind, which leveldb deletes when it next opens the DB: a note, not a problem) and the
live files that are missing (a problem).

With --format=json the tree and summary are one JSON object, followed with --check by the
check's objects (see docs/sstdump.md).`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var o dbOptions
		fs.BoolVar(&o.check, "check", false, "check every live file and report files missing or not referenced")
		fs.BoolVar(&o.bf.hex, "hex", false, "print user keys as hex")
		return func(e *env, args []string) error {
			return dbCmd(e, args[0], o)
		}
	},
}

type dbOptions struct {
	check bool
	bf    bytesFormat
}

// errNoDB reports a directory without CURRENT.
var errNoDB = errors.New("no database here: CURRENT does not exist")

// readCurrent returns the MANIFEST name CURRENT holds, with the checks recovery makes
// (compaction.ParseCurrent).
func readCurrent(e *env, dir string) (string, error) {
	path := filepath.Join(dir, filenames.CurrentName)
	f, _, err := openFile(e, path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errNoDB
		}
		return "", err
	}
	defer f.Close()
	name, _, err := compaction.ParseCurrent(f, path)
	return name, err
}

// diskFile is a file of the DB directory.
type diskFile struct {
	name string
	kind filenames.Kind
	num  uint64
	size int64
}

func dbCmd(e *env, dir string, o dbOptions) error {
	fi, err := e.fs.Stat(dir)
	if err != nil {
		e.fileError(dir, err)
		return nil
	}
	if !fi.IsDir() {
		return usagef("db", "db: %s is not a directory", dir)
	}
	name, err := readCurrent(e, dir)
	if err != nil {
		if errors.Is(err, errNoDB) {
			e.errorf(exitUsage, "%s: %v", dir, err)
			return nil
		}
		e.fileError(filepath.Join(dir, filenames.CurrentName), err)
		return nil
	}
	mpath := filepath.Join(dir, name)
	f, msize, err := openFile(e, mpath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			e.errorf(exitProblem, "%s: names %s, which does not exist", filepath.Join(dir, filenames.CurrentName), name)
			return nil
		}
		e.fileError(mpath, err)
		return nil
	}
	defer f.Close()

	// Problems in the MANIFEST: on stderr, or with --check in the check's output.
	r := &reporter{path: mpath, emit: e.stderrFindings()}
	if o.check {
		r.emit = e.stdoutFindings(e.json)
	}
	var torn error
	s, err := walkManifest(f, mpath, r, nil, func(err error) { torn = err })
	if err != nil {
		e.fileError(mpath, err)
		return nil
	}

	disk, err := listDBFiles(e, dir)
	if err != nil {
		e.fileError(dir, err)
		return nil
	}
	liveLog := s.liveLog

	if e.json {
		var w jsonWriter
		appendDBJSON(&w, dir, name, msize, torn, s, disk, liveLog, o.bf)
		e.out.write(w.line())
		if !o.check {
			return e.out.err()
		}
		return dbCheck(e, dir, name, s, disk, liveLog, r)
	}

	printDBText(e, dir, name, msize, torn, s, disk, liveLog, o.bf)
	if !o.check {
		return e.out.err()
	}
	return dbCheck(e, dir, name, s, disk, liveLog, r)
}

// liveLog reports whether the log numbered num is live: recovery replays it, as it is
// numbered from the log number on, or is the previous log.
func (s *manifestState) liveLog(num uint64) bool {
	return num >= s.logNum || (s.hasPrevLog && s.prevLogNum != 0 && num == s.prevLogNum)
}

// listDBFiles lists the files of dir that a DB names, with their sizes.
func listDBFiles(e *env, dir string) ([]diskFile, error) {
	names, err := e.fs.List(dir)
	if err != nil {
		return nil, err
	}
	var disk []diskFile
	for _, n := range names {
		k, num, ok := filenames.Parse(n)
		if !ok {
			continue
		}
		df := diskFile{name: n, kind: k, num: num}
		if fi, err := e.fs.Stat(filepath.Join(dir, n)); err == nil && !fi.IsDir() {
			df.size = fi.Size()
		}
		disk = append(disk, df)
	}
	return disk, nil
}

// printDBText prints the db command's text output: the tree and the summary.
func printDBText(e *env, dir, name string, msize int64, torn error, s *manifestState, disk []diskFile, liveLog func(uint64) bool, bf bytesFormat) {
	w := e.out.w
	fmt.Fprintf(w, "db: %s\n", dir)
	fmt.Fprintf(w, "CURRENT: %s (%d bytes, %s)\n", name, msize, plural(s.edits, "edit"))
	if torn != nil {
		fmt.Fprintf(w, "  %s\n", tornText(torn))
	}
	fmt.Fprintf(w, "\n%s\nsummary:\n", strings.TrimRight(s.formatTree(bf, ""), "\n"))
	files, bytes := 0, uint64(0)
	for level, lf := range s.levels {
		var lb uint64
		for _, f := range lf {
			lb += f.Size
		}
		if len(lf) > 0 {
			fmt.Fprintf(w, "  L%d: %s, %d bytes\n", level, plural(len(lf), "file"), lb)
		}
		files += len(lf)
		bytes += lb
	}
	fmt.Fprintf(w, "  total: %s, %d bytes\n", plural(files, "table"), bytes)
	fmt.Fprint(w, s.formatCounters(bf, "  "))
	var logs []string
	for _, df := range disk {
		if df.kind == filenames.Log && liveLog(df.num) {
			logs = append(logs, fmt.Sprintf("%s (%d bytes)", df.name, df.size))
		}
	}
	if len(logs) == 0 {
		logs = append(logs, "none")
	}
	fmt.Fprintf(w, "  live logs: %s\n", strings.Join(logs, ", "))
}
