package main

import "fmt"

// fileSummary is what check says about one file once it is checked: the line
// "FILE: ok (table: 36 data blocks, 514 entries, internal keys)", or a JSON object
// {"type":"file","file":..,"kind":"table","status":"ok","problems":0,...}.
type fileSummary struct {
	path     string
	kind     fileKind
	problems int

	unreadable      bool // the file could not be read at all (reported on stderr)
	tableUnreadable bool // a table whose footer or index is damaged

	table        *tableStats // tables that could be walked
	internal     bool        // their keys are internal keys
	orderChecked bool
	log          *logStats
	manifest     *manifestState
}

// print writes the summary to stdout. In text, a file that could not be read has no summary
// line: its error is on stderr.
func (s *fileSummary) print(e *env) {
	e.prog.clear()
	if !e.json {
		if !s.unreadable {
			e.out.str(s.text() + "\n")
		}
		return
	}
	var w jsonWriter
	s.appendJSON(&w)
	e.out.write(w.line())
}

func (s *fileSummary) status() string {
	switch {
	case s.unreadable:
		return "unreadable"
	case s.problems > 0:
		return "problems"
	}
	return "ok"
}

func (s *fileSummary) text() string {
	status := "ok"
	if s.problems > 0 {
		status = plural(s.problems, "problem")
	}
	var what string
	switch {
	case s.tableUnreadable:
		what = "table: unreadable"
	case s.table != nil:
		keyKind := "raw keys"
		if s.internal {
			keyKind = "internal keys"
		}
		what = fmt.Sprintf("table: %s, %s, %s", plural(s.table.blocks, "data block"), plural(int(s.table.entries), "entry"), keyKind)
		if !s.orderChecked {
			what += ", order not checked"
		}
	case s.log != nil:
		what = "log: " + s.log.summary()
	case s.manifest != nil:
		what = fmt.Sprintf("manifest: %s, %s", plural(s.manifest.edits, "edit"), plural(len(s.manifest.files), "live file"))
	}
	return fmt.Sprintf("%s: %s (%s)", s.path, status, what)
}

// appendJSON writes the summary as one object. Besides type, file, kind, status and problems:
// a table has "readable" (false when its footer or index is damaged) and, when readable,
// "data_blocks", "unreadable_blocks", "entries", "keys" ("internal" or "raw") and
// "order_checked"; a log has logStats' members; a MANIFEST "edits" and "live_files".
func (s *fileSummary) appendJSON(w *jsonWriter) {
	w.object("")
	w.str("type", "file")
	w.str("file", s.path)
	w.str("kind", s.kind.String())
	w.str("status", s.status())
	w.int("problems", int64(s.problems))
	switch {
	case s.unreadable:
	case s.kind == kindTable:
		w.bool("readable", !s.tableUnreadable)
		if st := s.table; st != nil {
			w.int("data_blocks", int64(st.blocks))
			w.int("unreadable_blocks", int64(st.badBlocks))
			w.uint("entries", st.entries)
			if s.internal {
				w.str("keys", "internal")
			} else {
				w.str("keys", "raw")
			}
			w.bool("order_checked", s.orderChecked)
		}
	case s.log != nil:
		s.log.appendJSON(w)
	case s.manifest != nil:
		w.int("edits", int64(s.manifest.edits))
		w.int("live_files", int64(len(s.manifest.files)))
	}
	w.endObject()
}
