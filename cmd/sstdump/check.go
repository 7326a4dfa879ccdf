package main

import (
	"flag"
	"fmt"
	"path/filepath"
)

var checkCommand = &command{
	synopsis: "sstdump check [flags] PATH...",
	summary:  "check tables, logs and MANIFESTs, or every one of them in a directory",
	arg:      "PATH",
	many:     true,
	doc: `
Checks each file named, and each table, log and MANIFEST in each directory named (by file
name; subdirectories are not entered), and prints one line per problem:

  FILE: offset N: what is wrong

then one line per file, "FILE: ok (...)" or "FILE: N problems (...)", and for more than one
file a total. It carries on past each problem where it can.

Tables: the footer, every block's checksum, compression and structure, that each index
handle lies inside the file, that keys strictly increase within and across blocks, that each
index key is >= the last key of its block and < the first key of the next, that every key
matches the filter of its block, and (internal keys) that every key parses.
Logs: every record's framing and checksum, every WriteBatch, and that sequence numbers do
not go back. A torn tail is a note, not a problem.
MANIFESTs: every record, every edit, and that the edits apply (see 'sstdump help manifest').

Key order is leveldb's bytewise order (over user keys, for internal keys). In a directory
whose MANIFEST names another comparator, and with --no-order, order is not checked.

With --format=json every problem, note, file and the total is one JSON object (see
docs/sstdump.md).

Exit status 1 if any problem was found; 2 if a file could not be read at all, or a directory
holds nothing to check. On a terminal, a check that runs longer than a second shows its
progress on stderr.`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var o checkOptions
		fs.BoolVar(&o.raw, "raw", false, "treat table keys as raw bytes even if they parse as internal keys")
		fs.BoolVar(&o.noOrder, "no-order", false, "do not check key order (tables written with a custom comparator)")
		return func(e *env, args []string) error {
			return check(e, args, o)
		}
	},
}

type checkOptions struct {
	raw, noOrder bool
}

// checkItem is one file to check.
type checkItem struct {
	path string
	kind fileKind
	size int64
	// internal forces internal keys for a table (a DB's live table); otherwise they are
	// detected.
	internal bool
	noOrder  bool
}

// checkResult is what checking one file found.
type checkResult struct {
	problems   int
	unreadable bool
	first      []byte // tables: first and last key
	last       []byte
	ok         bool // the file was checked whole
	badBlocks  int  // tables: data blocks that could not be read
}

func check(e *env, paths []string, o checkOptions) error {
	var items []checkItem
	for _, p := range paths {
		fi, err := e.fs.Stat(p)
		if err != nil {
			e.fileError(p, err)
			continue
		}
		if !fi.IsDir() {
			k, err := kindOf(e, p)
			if err != nil {
				e.fileError(p, err)
				continue
			}
			switch k {
			case kindTable, kindLog, kindManifest:
			case kindCurrent:
				e.errorf(exitUsage, "%s: to check a DB, run sstdump db --check %s", p, filepath.Dir(p))
				continue
			default:
				e.errorf(exitUsage, "%s: cannot tell what kind of file this is; check reads tables, logs and MANIFESTs", p)
				continue
			}
			items = append(items, checkItem{path: p, kind: k, size: fi.Size(), noOrder: o.noOrder})
			continue
		}
		names, err := e.fs.List(p)
		if err != nil {
			e.fileError(p, err)
			continue
		}
		noOrder := o.noOrder || !dirOrderKnown(e, p)
		found := 0
		for _, name := range names {
			k := kindByName(name)
			if k != kindTable && k != kindLog && k != kindManifest {
				continue
			}
			path := filepath.Join(p, name)
			fi, err := e.fs.Stat(path)
			if err != nil {
				e.fileError(path, err)
				continue
			}
			if fi.IsDir() {
				continue
			}
			items = append(items, checkItem{path: path, kind: k, size: fi.Size(), noOrder: noOrder})
			found++
		}
		if found == 0 {
			// A mistyped or empty directory: nothing was checked, so nothing can be vouched for.
			e.errorf(exitUsage, "%s: no tables, logs or MANIFESTs to check", p)
		}
	}
	return checkItems(e, items, o.raw)
}

// dirOrderKnown reports whether the DB in dir (if it is one) orders keys bytewise, from the
// comparator its MANIFEST names. A directory that is not a DB, or whose MANIFEST cannot be
// read, counts as bytewise.
func dirOrderKnown(e *env, dir string) bool {
	name, err := readCurrent(e, dir)
	if err != nil {
		return true
	}
	f, _, err := openFile(e, filepath.Join(dir, name))
	if err != nil {
		return true
	}
	defer f.Close()
	quiet := &reporter{emit: func(finding) {}}
	s, err := walkManifest(f, name, quiet, nil, func(error) {})
	return err != nil || s.knownOrder()
}

// checkItems checks each item in turn, printing problems, a line per file and a total.
func checkItems(e *env, items []checkItem, raw bool) error {
	var total int64
	for _, it := range items {
		total += it.size
	}
	e.prog.begin(len(items), total)
	withProblems, problems := 0, 0
	for _, it := range items {
		e.prog.nextFile()
		res, err := checkFile(e, it, raw)
		if err != nil {
			return err
		}
		if res.problems > 0 || res.unreadable {
			withProblems++
		}
		problems += res.problems
	}
	if e.json {
		var w jsonWriter
		w.object("")
		w.str("type", "total")
		w.int("files", int64(len(items)))
		w.int("bytes", total)
		w.int("ok", int64(len(items)-withProblems))
		w.int("with_problems", int64(withProblems))
		w.int("problems", int64(problems))
		w.endObject()
		e.prog.clear()
		e.out.write(w.line())
	} else if len(items) > 1 {
		var size string
		if total >= 1e6 {
			size = fmt.Sprintf("%.1f MB", float64(total)/1e6)
		} else {
			size = fmt.Sprintf("%d bytes", total)
		}
		e.prog.clear()
		e.out.str(fmt.Sprintf("checked %s (%s): %d ok, %d with problems (%s)\n",
			plural(len(items), "file"), size, len(items)-withProblems, withProblems, plural(problems, "problem")))
	}
	return e.out.err()
}

// checkFile checks one file, printing its problems and its summary line. It returns only
// output errors: everything about the file is printed.
func checkFile(e *env, it checkItem, raw bool) (checkResult, error) {
	var res checkResult
	r := &reporter{path: it.path, emit: e.stdoutFindings(e.json)}
	sum := fileSummary{path: it.path, kind: it.kind}
	// unreadable reports err, which ends the check of the file, and its summary line.
	unreadable := func(err error) (checkResult, error) {
		e.fileError(it.path, err)
		res.unreadable = true
		sum.unreadable = true
		sum.print(e)
		return res, e.out.err()
	}
	f, _, err := openFile(e, it.path)
	if err != nil {
		return unreadable(err)
	}
	defer f.Close()

	switch it.kind {
	case kindTable:
		t, err := openTable(f, it.path, it.size)
		if err != nil {
			if !isCorruption(err) {
				e.fileError(it.path, err)
				res.unreadable = true
				sum.unreadable = true
				sum.print(e)
				return res, e.out.err()
			}
			r.report(err)
			sum.tableUnreadable = true
			e.prog.add(it.size)
			break
		}
		switch {
		case it.internal:
			t.internal = true
		case !raw:
			t.detectKeys()
		}
		st := checkTable(t, tableCheckOptions{order: !it.noOrder}, r, e.prog)
		res.first, res.last, res.badBlocks = st.first, st.last, st.badBlocks
		sum.table, sum.internal, sum.orderChecked = &st, t.internal, !it.noOrder
		res.ok = true
	case kindLog:
		st, err := checkLog(e, f, it.path, r)
		if err != nil {
			if isOutputError(err) {
				return res, err
			}
			return unreadable(err)
		}
		sum.log = &st
		res.ok = true
	case kindManifest:
		s, err := walkManifest(&progressReader{f, e.prog}, it.path, r, nil, func(err error) {
			r.emit(tornNote(it.path, err))
		})
		if err != nil {
			return unreadable(err)
		}
		sum.manifest = s
		res.ok = true
	}
	r.flushSuppressed()
	res.problems = r.problems
	if r.problems > 0 {
		e.raise(exitProblem)
	}
	sum.problems = r.problems
	sum.print(e)
	return res, e.out.err()
}
