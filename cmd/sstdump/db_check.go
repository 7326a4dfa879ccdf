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
	if !e.json {
		fmt.Fprintf(e.out.w, "\ncheck:\n")
	}
	mr.flushSuppressed()
	problems := mr.problems
	manifestPath := filepath.Join(dir, manifest)
	if mr.problems > 0 {
		e.raise(exitProblem)
	}
	if e.json {
		(&fileSummary{path: manifestPath, kind: kindManifest, problems: mr.problems, manifest: s}).print(e)
	} else if mr.problems == 0 {
		e.out.str(manifestPath + ": ok\n")
	} else {
		e.out.str(fmt.Sprintf("%s: %s\n", manifestPath, plural(mr.problems, "problem")))
	}
	emit := e.stdoutFindings(e.json)
	problem := func(path, format string, args ...any) {
		emit(finding{file: path, offset: dberr.NoOffset, reason: fmt.Sprintf(format, args...)})
		problems++
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
	type missingTable struct {
		level int
		meta  *compaction.FileMetadata
	}
	var missing []missingTable
	for level, files := range s.levels {
		for _, m := range files {
			df, ok := onDisk[m.Num]
			if !ok || df.kind != filenames.Table {
				missing = append(missing, missingTable{level, m})
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
		problem(filenames.Path(dir, filenames.Table, m.meta.Num), "missing: L%d table %s of the MANIFEST is not on disk",
			m.level, formatFile(m.meta, bytesFormat{}))
	}

	var total int64
	for _, it := range items {
		total += it.item.size
	}
	e.prog.begin(len(items), total)
	for _, it := range items {
		e.prog.nextFile()
		if it.meta != nil && uint64(it.item.size) != it.meta.Size {
			problem(it.item.path, "size %d bytes, but the MANIFEST records %d", it.item.size, it.meta.Size)
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
				problem(it.item.path, "%s key %s, but the MANIFEST records %s", c.what, got, formatKey(c.want, true, bytesFormat{}))
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
	notes := 0
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
			emit(finding{file: filepath.Join(dir, df.name), offset: dberr.NoOffset, note: true,
				reason: fmt.Sprintf("not referenced: %s (obsolete; leveldb deletes it when it opens the DB)", why)})
			notes++
		}
	}
	e.prog.clear()
	if e.json {
		var w jsonWriter
		w.object("")
		w.str("type", "db_check")
		w.str("manifest", manifest)
		w.int("live_tables", int64(len(s.files)))
		w.int("live_logs", int64(nLogs))
		w.int("problems", int64(problems))
		w.int("unreferenced", int64(notes))
		w.endObject()
		e.out.write(w.line())
		return e.out.err()
	}
	e.out.str(fmt.Sprintf("checked %s, %s, %s: %s; %s not referenced\n",
		manifest, plural(len(s.files), "live table"), plural(nLogs, "live log"), plural(problems, "problem"), plural(notes, "file")))
	return e.out.err()
}
