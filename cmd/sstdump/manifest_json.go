package main

import "github.com/stratadb/strata/compaction"

// The JSON forms of a MANIFEST's edits and of the state they add up to; docs/sstdump.md lists
// their members. Keys are objects as in scan's JSON ({"key":..,"seq":N,"kind":"SET"}); a file
// is {"file":N,"size":N,"smallest":KEY,"largest":KEY}.

// appendEditJSON writes edit number n, at off in the MANIFEST and size bytes long, as one JSON
// object with the fields the edit has.
func appendEditJSON(w *jsonWriter, n int, off int64, size int, ed *compaction.VersionEdit, bf bytesFormat) {
	w.object("")
	w.str("type", "edit")
	w.int("index", int64(n))
	w.int("offset", off)
	w.int("size", int64(size))
	if ed.HasComparator {
		w.str("comparator", ed.Comparator)
	}
	if ed.HasLogNum {
		w.uint("log", ed.LogNum)
	}
	if ed.HasPrevLogNum {
		w.uint("prev_log", ed.PrevLogNum)
	}
	if ed.HasNextFileNum {
		w.uint("next_file", ed.NextFileNum)
	}
	if ed.HasLastSeq {
		w.uint("last_seq", uint64(ed.LastSeq))
	}
	if len(ed.CompactPointers) > 0 {
		w.array("compact_pointers")
		for _, cp := range ed.CompactPointers {
			w.object("")
			w.int("level", int64(cp.Level))
			w.key("key", cp.Key, true, bf.hex)
			w.endObject()
		}
		w.endArray()
	}
	if ds := ed.SortedDeletions(); len(ds) > 0 {
		w.array("deleted")
		for _, d := range ds {
			w.object("")
			w.int("level", int64(d.Level))
			w.uint("file", d.Num)
			w.endObject()
		}
		w.endArray()
	}
	if len(ed.NewFiles) > 0 {
		w.array("added")
		for _, nf := range ed.NewFiles {
			w.object("")
			w.int("level", int64(nf.Level))
			appendFileMembers(w, nf.Meta, bf)
			w.endObject()
		}
		w.endArray()
	}
	w.endObject()
}

// appendFileMembers writes a table's number, size and key range into the open object.
func appendFileMembers(w *jsonWriter, m *compaction.FileMetadata, bf bytesFormat) {
	w.uint("file", m.Num)
	w.uint("size", m.Size)
	w.key("smallest", m.Smallest, true, bf.hex)
	w.key("largest", m.Largest, true, bf.hex)
}

// appendJSON writes the state's counters and level tree into the open object: "comparator",
// "log", "prev_log", "next_file" and "last_seq" (null when never recorded),
// "compact_pointers", and "levels", the non-empty levels with their files.
func (s *manifestState) appendJSON(w *jsonWriter, bf bytesFormat) {
	if s.hasComparator {
		w.str("comparator", s.comparator)
	} else {
		w.null("comparator")
	}
	for _, c := range []struct {
		name string
		has  bool
		v    uint64
	}{
		{"log", s.hasLog, s.logNum},
		{"prev_log", s.hasPrevLog, s.prevLogNum},
		{"next_file", s.hasNext, s.nextFile},
		{"last_seq", s.hasLastSeq, uint64(s.lastSeq)},
	} {
		if c.has {
			w.uint(c.name, c.v)
		} else {
			w.null(c.name)
		}
	}
	w.array("compact_pointers")
	for level, cp := range s.compactPointers {
		if cp != nil {
			w.object("")
			w.int("level", int64(level))
			w.key("key", cp, true, bf.hex)
			w.endObject()
		}
	}
	w.endArray()
	w.array("levels")
	for level, files := range s.levels {
		if len(files) == 0 {
			continue
		}
		bytes := s.levelBytes(level)
		w.object("")
		w.int("level", int64(level))
		w.int("files", int64(len(files)))
		w.uint("bytes", bytes)
		w.array("tables")
		for _, f := range files {
			w.object("")
			appendFileMembers(w, f, bf)
			w.endObject()
		}
		w.endArray()
		w.endObject()
	}
	w.endArray()
}
