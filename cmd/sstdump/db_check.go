package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
)

// dbCheck is db --check: every live file checked, missing and unreferenced files listed. The
// MANIFEST's problems were printed by mr as it was read.
func dbCheck(e *env, dir, manifest string, s *manifestState, disk []diskFile, liveLog func(uint64) bool, mr *reporter) error {
	c := &dbChecker{e: e, dir: dir, manifest: manifest, s: s, disk: disk, liveLog: liveLog}
	c.reportManifest(mr)
	c.emit = e.stdoutFindings(e.json)
	items, nLogs := c.liveItems()
	if err := c.checkItems(items); err != nil {
		return err
	}
	notes := c.unreferenced()
	e.prog.clear()
	return c.summary(nLogs, notes)
}

// dbChecker is the state of one db --check.
type dbChecker struct {
	e        *env
	dir      string
	manifest string
	s        *manifestState
	disk     []diskFile
	liveLog  func(uint64) bool
	emit     func(finding)
	problems int
}

// liveItem is a live file to check: a table of the MANIFEST's tree (meta set) or a live log.
type liveItem struct {
	level int
	meta  *compaction.FileMetadata
	item  checkItem
}

// problem reports a problem with the file at path.
func (c *dbChecker) problem(path, format string, args ...any) {
	c.emit(finding{file: path, offset: dberr.NoOffset, reason: fmt.Sprintf(format, args...)})
	c.problems++
	c.e.raise(exitProblem)
}

// reportManifest prints the MANIFEST's line, counting the problems mr found in it.
func (c *dbChecker) reportManifest(mr *reporter) {
	e := c.e
	if !e.json {
		fmt.Fprintf(e.out.w, "\ncheck:\n")
	}
	mr.flushSuppressed()
	c.problems = mr.problems
	manifestPath := filepath.Join(c.dir, c.manifest)
	if mr.problems > 0 {
		e.raise(exitProblem)
	}
	switch {
	case e.json:
		(&fileSummary{path: manifestPath, kind: kindManifest, problems: mr.problems, manifest: c.s}).print(e)
	case mr.problems == 0:
		e.out.str(manifestPath + ": ok\n")
	default:
		e.out.str(fmt.Sprintf("%s: %s\n", manifestPath, plural(mr.problems, "problem")))
	}
}

// liveItems lists the live tables, level by level, then the live logs, and reports the tables
// the MANIFEST names that are not on disk. It returns the items and the number of live logs.
func (c *dbChecker) liveItems() ([]liveItem, int) {
	onDisk := make(map[uint64]diskFile)
	for _, df := range c.disk {
		if df.kind == filenames.Table || df.kind == filenames.Log {
			// A number names one file (tables also under the old .sst suffix).
			if prev, ok := onDisk[df.num]; !ok || prev.kind != filenames.Table {
				onDisk[df.num] = df
			}
		}
	}
	type missingTable struct {
		level int
		meta  *compaction.FileMetadata
	}
	var (
		items   []liveItem
		missing []missingTable
	)
	for level, files := range c.s.levels {
		for _, m := range files {
			df, ok := onDisk[m.Num]
			if !ok || df.kind != filenames.Table {
				missing = append(missing, missingTable{level, m})
				continue
			}
			items = append(items, liveItem{level: level, meta: m, item: checkItem{
				path: filepath.Join(c.dir, df.name), kind: kindTable, size: df.size,
				internal: true, noOrder: !c.s.knownOrder(),
			}})
		}
	}
	nLogs := 0
	for _, df := range c.disk {
		if df.kind == filenames.Log && c.liveLog(df.num) {
			items = append(items, liveItem{level: -1, item: checkItem{path: filepath.Join(c.dir, df.name), kind: kindLog, size: df.size}})
			nLogs++
		}
	}
	for _, m := range missing {
		c.problem(filenames.Path(c.dir, filenames.Table, m.meta.Num), "missing: L%d table %s of the MANIFEST is not on disk",
			m.level, formatFile(m.meta, bytesFormat{}))
	}
	return items, nLogs
}

// walkLive calls check on each of items in turn, with the progress counting the files and
// their bytes; the first error check returns ends the walk.
func (c *dbChecker) walkLive(items []liveItem, check func(liveItem) error) error {
	var total int64
	for _, it := range items {
		total += it.item.size
	}
	c.e.prog.begin(len(items), total)
	for _, it := range items {
		c.e.prog.nextFile()
		if err := check(it); err != nil {
			return err
		}
	}
	return nil
}

// checkItems checks every live file, and a table's size and key range against the MANIFEST.
func (c *dbChecker) checkItems(items []liveItem) error {
	return c.walkLive(items, func(it liveItem) error {
		if it.meta != nil && uint64(it.item.size) != it.meta.Size {
			c.problem(it.item.path, "size %d bytes, but the MANIFEST records %d", it.item.size, it.meta.Size)
		}
		res, err := checkFile(c.e, it.item, false)
		if err != nil {
			return err
		}
		c.problems += res.problems
		if it.meta != nil && res.ok && res.badBlocks == 0 {
			c.checkRange(it, res)
		}
		if res.unreadable {
			c.problems++
		}
		return nil
	})
}

// checkRange compares a table's first and last keys with what the MANIFEST records.
func (c *dbChecker) checkRange(it liveItem, res checkResult) {
	for _, k := range []struct {
		what      string
		got, want []byte
	}{{"first", res.first, it.meta.Smallest}, {"last", res.last, it.meta.Largest}} {
		if k.got != nil && bytes.Equal(k.got, k.want) {
			continue
		}
		got := "none (no entries)"
		if k.got != nil {
			got = formatKey(k.got, true, bytesFormat{})
		}
		c.problem(it.item.path, "%s key %s, but the MANIFEST records %s", k.what, got, formatKey(k.want, true, bytesFormat{}))
	}
}

// unreferenced notes the files on disk the MANIFEST does not reference and returns how many.
func (c *dbChecker) unreferenced() int {
	live := make(map[uint64]bool)
	for _, lf := range c.s.files {
		live[lf.meta.Num] = true
	}
	notes := 0
	sort.Slice(c.disk, func(i, j int) bool { return c.disk[i].name < c.disk[j].name })
	for _, df := range c.disk {
		var why string
		switch df.kind {
		case filenames.Table:
			if !live[df.num] {
				why = "table not in the MANIFEST's tree"
			}
		case filenames.Log:
			if !c.liveLog(df.num) {
				why = fmt.Sprintf("log older than the log number %d", c.s.logNum)
			}
		case filenames.Manifest:
			if df.name != c.manifest {
				why = "MANIFEST other than the one CURRENT names"
			}
		case filenames.Temp:
			why = "temporary file"
		}
		if why != "" {
			c.emit(finding{file: filepath.Join(c.dir, df.name), offset: dberr.NoOffset, note: true,
				reason: fmt.Sprintf("not referenced: %s (obsolete; leveldb deletes it when it opens the DB)", why)})
			notes++
		}
	}
	return notes
}

// summary prints the check's last line (text) or object (JSON).
func (c *dbChecker) summary(nLogs, notes int) error {
	e := c.e
	if e.json {
		var w jsonWriter
		w.object("")
		w.str("type", "db_check")
		w.str("manifest", c.manifest)
		w.int("live_tables", int64(len(c.s.files)))
		w.int("live_logs", int64(nLogs))
		w.int("problems", int64(c.problems))
		w.int("unreferenced", int64(notes))
		w.endObject()
		e.out.write(w.line())
		return e.out.err()
	}
	e.out.str(fmt.Sprintf("checked %s, %s, %s: %s; %s not referenced\n",
		c.manifest, plural(len(c.s.files), "live table"), plural(nLogs, "live log"), plural(c.problems, "problem"), plural(notes, "file")))
	return e.out.err()
}
