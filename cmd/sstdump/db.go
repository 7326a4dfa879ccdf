package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
)

var dbCommand = &command{
	synopsis: "sstdump db [flags] DIR",
	summary:  "print a DB's level tree from CURRENT and its MANIFEST; --check checks it all",
	doc: `
Reads CURRENT and the MANIFEST it names (read-only; the DB's LOCK is not taken, so this works
while the DB is open) and prints the level tree, each live table as
NUMBER:[smallest-largest] SIZE, then a summary: files and bytes per level, the last sequence
number, the log numbers, the next file number, the comparator, and the live logs.

With --check it then checks every live table (as 'sstdump check' does, and that its first
and last keys and its size are the ones the MANIFEST records), every live log and the
MANIFEST, and lists the files on disk the MANIFEST does not reference (obsolete files a crash
left behind, which leveldb deletes when it next opens the DB: a note, not a problem) and the
live files that are missing (a problem).`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var o dbOptions
		fs.BoolVar(&o.check, "check", false, "check every live file and report files missing or not referenced")
		fs.BoolVar(&o.bf.hex, "hex", false, "print user keys as hex")
		return func(e *env, args []string) error {
			if err := needArgs("db", args, 1, 1, "DIR"); err != nil {
				return err
			}
			return dbCmd(e, args[0], o)
		}
	},
}

type dbOptions struct {
	check bool
	bf    bytesFormat
}

// maxCurrentSize bounds how much of CURRENT is read: it names one MANIFEST.
const maxCurrentSize = 1 << 10

// errNoDB reports a directory without CURRENT.
var errNoDB = errors.New("no database here: CURRENT does not exist")

// readCurrent returns the MANIFEST name CURRENT holds, with the checks recovery makes.
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
	b, err := io.ReadAll(io.LimitReader(f, maxCurrentSize+1))
	if err != nil {
		return "", err
	}
	switch {
	case len(b) > maxCurrentSize:
		return "", dberr.Corruptf(path, dberr.NoOffset, "longer than %d bytes", maxCurrentSize)
	case len(b) == 0:
		return "", dberr.Corruptf(path, dberr.NoOffset, "empty")
	case b[len(b)-1] != '\n':
		return "", dberr.Corruptf(path, dberr.NoOffset, "does not end with a newline")
	}
	name := string(b[:len(b)-1])
	if k, _, ok := filenames.Parse(name); !ok || k != filenames.Manifest || bytes.ContainsAny(b[:len(b)-1], "/\\\n") {
		return "", dberr.Corruptf(path, dberr.NoOffset, "holds %q, not the name of a MANIFEST", name)
	}
	return name, nil
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
	r := &reporter{path: mpath, print: func(line string) { e.errorf(exitProblem, "%s", line) }}
	if o.check {
		r.print = func(line string) { e.out.str(line + "\n") }
	}
	var torn error
	s, err := walkManifest(f, mpath, r, nil, func(err error) { torn = err })
	if err != nil {
		e.fileError(mpath, err)
		return nil
	}

	names, err := e.fs.List(dir)
	if err != nil {
		e.fileError(dir, err)
		return nil
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
	liveLog := func(num uint64) bool {
		return num >= s.logNum || (s.hasPrevLog && s.prevLogNum != 0 && num == s.prevLogNum)
	}

	// The tree and the summary.
	w := e.out.w
	fmt.Fprintf(w, "db: %s\n", dir)
	fmt.Fprintf(w, "CURRENT: %s (%d bytes, %s)\n", name, msize, plural(s.edits, "edit"))
	if torn != nil {
		fmt.Fprintf(w, "  %s\n", tornText(torn))
	}
	fmt.Fprintf(w, "\n%s\nsummary:\n", strings.TrimRight(s.formatTree(o.bf, ""), "\n"))
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
	fmt.Fprint(w, s.formatCounters(o.bf, "  "))
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
	if !o.check {
		return e.out.err()
	}
	return dbCheck(e, dir, name, s, disk, liveLog, r)
}

// dbCheck is db --check: every live file checked, missing and unreferenced files listed.
func dbCheck(e *env, dir, manifest string, s *manifestState, disk []diskFile, liveLog func(uint64) bool, mr *reporter) error {
	fmt.Fprintf(e.out.w, "\ncheck:\n")
	mr.flushSuppressed()
	problems := mr.problems
	manifestPath := filepath.Join(dir, manifest)
	if mr.problems == 0 {
		e.out.str(manifestPath + ": ok\n")
	} else {
		e.out.str(fmt.Sprintf("%s: %s\n", manifestPath, plural(mr.problems, "problem")))
		e.raise(exitProblem)
	}

	onDisk := make(map[uint64]diskFile)
	for _, df := range disk {
		if df.kind == filenames.Table || df.kind == filenames.Log {
			// A number names one file (tables also under the old .sst suffix).
			if prev, ok := onDisk[df.num]; !ok || prev.kind != filenames.Table {
				onDisk[df.num] = df
			}
		}
	}

	// Live tables, level by level, then live logs.
	type liveItem struct {
		level int
		meta  *compaction.FileMetadata
		item  checkItem
	}
	var items []liveItem
	var missing []string
	for level, files := range s.levels {
		for _, m := range files {
			df, ok := onDisk[m.Num]
			if !ok || df.kind != filenames.Table {
				missing = append(missing, fmt.Sprintf("%s: missing: L%d table %s of the MANIFEST is not on disk",
					filenames.Path(dir, filenames.Table, m.Num), level, formatFile(m, bytesFormat{})))
				continue
			}
			items = append(items, liveItem{level: level, meta: m, item: checkItem{
				path: filepath.Join(dir, df.name), kind: kindTable, size: df.size,
				internal: true, noOrder: !s.knownOrder(),
			}})
		}
	}
	nLogs := 0
	for _, df := range disk {
		if df.kind == filenames.Log && liveLog(df.num) {
			items = append(items, liveItem{level: -1, item: checkItem{path: filepath.Join(dir, df.name), kind: kindLog, size: df.size}})
			nLogs++
		}
	}
	for _, m := range missing {
		e.out.str(m + "\n")
		problems++
	}
	if len(missing) > 0 {
		e.raise(exitProblem)
	}

	var total int64
	for _, it := range items {
		total += it.item.size
	}
	e.prog.begin(len(items), total)
	for _, it := range items {
		e.prog.nextFile()
		if it.meta != nil && uint64(it.item.size) != it.meta.Size {
			e.prog.clear()
			e.out.str(fmt.Sprintf("%s: size %d bytes, but the MANIFEST records %d\n", it.item.path, it.item.size, it.meta.Size))
			problems++
			e.raise(exitProblem)
		}
		res, err := checkFile(e, it.item, false)
		if err != nil {
			return err
		}
		problems += res.problems
		if it.meta != nil && res.ok && res.badBlocks == 0 {
			for _, c := range []struct {
				what      string
				got, want []byte
			}{{"first", res.first, it.meta.Smallest}, {"last", res.last, it.meta.Largest}} {
				if c.got != nil && bytes.Equal(c.got, c.want) {
					continue
				}
				got := "none (no entries)"
				if c.got != nil {
					got = formatKey(c.got, true, bytesFormat{})
				}
				e.out.str(fmt.Sprintf("%s: %s key %s, but the MANIFEST records %s\n", it.item.path, c.what, got, formatKey(c.want, true, bytesFormat{})))
				problems++
				e.raise(exitProblem)
			}
		}
		if res.unreadable {
			problems++
		}
	}

	// Files on disk the MANIFEST does not reference.
	live := make(map[uint64]bool)
	for _, lf := range s.files {
		live[lf.meta.Num] = true
	}
	var notes []string
	sort.Slice(disk, func(i, j int) bool { return disk[i].name < disk[j].name })
	for _, df := range disk {
		var why string
		switch df.kind {
		case filenames.Table:
			if !live[df.num] {
				why = "table not in the MANIFEST's tree"
			}
		case filenames.Log:
			if !liveLog(df.num) {
				why = fmt.Sprintf("log older than the log number %d", s.logNum)
			}
		case filenames.Manifest:
			if df.name != manifest {
				why = "MANIFEST other than the one CURRENT names"
			}
		case filenames.Temp:
			why = "temporary file"
		}
		if why != "" {
			notes = append(notes, fmt.Sprintf("%s: note: not referenced: %s (obsolete; leveldb deletes it when it opens the DB)", filepath.Join(dir, df.name), why))
		}
	}
	for _, n := range notes {
		e.out.str(n + "\n")
	}
	e.prog.clear()
	e.out.str(fmt.Sprintf("checked %s, %s, %s: %s; %s not referenced\n",
		manifest, plural(len(s.files), "live table"), plural(nLogs, "live log"), plural(problems, "problem"), plural(len(notes), "file")))
	return e.out.err()
}
