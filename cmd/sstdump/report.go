package main

import (
	"errors"
	"fmt"

	"github.com/stratadb/strata/internal/dberr"
)

// finding is one thing a command found in a file: a problem (damage, a failed check) or a note
// (a torn log tail, a file the MANIFEST does not reference: normal after a crash).
type finding struct {
	file       string
	offset     int64 // dberr.NoOffset when no one offset applies
	reason     string
	note       bool // a note, not a problem
	suppressed int  // > 0: not a finding of its own, but this many more problems not shown
}

// findingOf describes err, an error about path: a corruption error gives its file, offset and
// reason; any other error its message.
func findingOf(path string, err error) finding {
	var ce *dberr.CorruptionError
	if !errors.As(err, &ce) {
		return finding{file: path, offset: dberr.NoOffset, reason: err.Error()}
	}
	f := finding{file: ce.File, offset: ce.Offset, reason: ce.Reason}
	if f.file == "" {
		f.file = path
	}
	if ce.Err != nil {
		f.reason += ": " + ce.Err.Error()
	}
	return f
}

// text prints f as a line: "FILE: offset N: reason", "FILE: note: offset N: reason" ("offset N: "
// only when an offset applies), or "FILE: ... and N more problems".
func (f finding) text() string {
	if f.suppressed > 0 {
		return fmt.Sprintf("%s: ... and %d more problems", f.file, f.suppressed)
	}
	s := f.file + ": "
	if f.note {
		s += "note: "
	}
	if f.offset != dberr.NoOffset {
		s += fmt.Sprintf("offset %d: ", f.offset)
	}
	return s + f.reason
}

// appendJSON writes f as one JSON object: {"type":"problem"|"note","file":..,"offset":N,
// "reason":..} (offset only when one applies), or {"type":"suppressed","file":..,"problems":N}.
func (f finding) appendJSON(w *jsonWriter) {
	w.object("")
	switch {
	case f.suppressed > 0:
		w.str("type", "suppressed")
		w.str("file", f.file)
		w.int("problems", int64(f.suppressed))
		w.endObject()
		return
	case f.note:
		w.str("type", "note")
	default:
		w.str("type", "problem")
	}
	w.str("file", f.file)
	if f.offset != dberr.NoOffset {
		w.int("offset", f.offset)
	}
	w.str("reason", f.reason)
	w.endObject()
}

// reporter receives the findings in one file. It counts the problems and passes on the first
// maxShownProblems, so that a table whose every key is wrong does not drown the output; notes
// are all passed on and not counted.
type reporter struct {
	path     string
	emit     func(f finding)
	problems int
}

// maxShownProblems is how many problems of one file are printed; the rest are counted.
const maxShownProblems = 50

func (r *reporter) report(err error) {
	r.problems++
	if r.problems <= maxShownProblems {
		r.emit(findingOf(r.path, err))
	}
}

func (r *reporter) reportf(off int64, format string, args ...any) {
	r.report(dberr.Corruptf(r.path, off, format, args...))
}

// note passes on a note about the file (off is dberr.NoOffset when none applies).
func (r *reporter) note(off int64, format string, args ...any) {
	r.emit(finding{file: r.path, offset: off, reason: fmt.Sprintf(format, args...), note: true})
}

// flushSuppressed passes on how many problems were counted but not shown.
func (r *reporter) flushSuppressed() {
	if n := r.problems - maxShownProblems; n > 0 {
		r.emit(finding{file: r.path, suppressed: n})
	}
}

// stderrFindings returns an emit function that prints findings on stderr, as the commands that
// dump a file do: problems raise the exit status to 1, notes leave it.
func (e *env) stderrFindings() func(finding) {
	return func(f finding) {
		status := exitProblem
		if f.note {
			status = exitOK
		}
		e.errorf(status, "%s", f.text())
	}
}

// stdoutFindings returns an emit function that prints findings on stdout, as check and
// db --check do: a line of text, or a JSON object with json. It does not change the exit
// status: the caller counts the problems.
func (e *env) stdoutFindings(json bool) func(finding) {
	return func(f finding) {
		e.prog.clear()
		if json {
			var w jsonWriter
			f.appendJSON(&w)
			e.out.write(w.line())
		} else {
			e.out.str(f.text() + "\n")
		}
		_ = e.out.flush()
	}
}

// notTableError marks the error of a file that is too short for a table or does not end with
// the table magic: wrong input for scan and props (exit status 2) rather than damage, though a
// table cut short looks the same, and check reports it as a problem.
type notTableError struct{ err error }

func (e *notTableError) Error() string { return e.err.Error() }
func (e *notTableError) Unwrap() error { return e.err }

func isNotTable(err error) bool {
	var nt *notTableError
	return errors.As(err, &nt)
}
