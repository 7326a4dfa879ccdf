package main

import "github.com/stratadb/strata/internal/filenames"

// appendDBJSON writes what db prints, the level tree and the summary, as one JSON object:
// {"type":"db","dir":..,"current":"MANIFEST-000002","manifest_size":N,"edits":N,
// "torn_tail":{..} (when the MANIFEST ends in one), the state's members (see
// manifestState.appendJSON), "tables":N,"table_bytes":N,"live_logs":[{"name":..,"size":N}]}.
func appendDBJSON(w *jsonWriter, dir, manifest string, msize int64, torn error, s *manifestState,
	disk []diskFile, liveLog func(uint64) bool, bf bytesFormat) {
	w.object("")
	w.str("type", "db")
	w.str("dir", dir)
	w.str("current", manifest)
	w.int("manifest_size", msize)
	w.int("edits", int64(s.edits))
	if torn != nil {
		appendTornJSON(w, "torn_tail", torn)
	}
	s.appendJSON(w, bf)
	var tables int
	var bytes uint64
	for _, files := range s.levels {
		for _, f := range files {
			tables++
			bytes += f.Size
		}
	}
	w.int("tables", int64(tables))
	w.uint("table_bytes", bytes)
	w.array("live_logs")
	for _, df := range disk {
		if df.kind == filenames.Log && liveLog(df.num) {
			w.object("")
			w.str("name", df.name)
			w.int("size", df.size)
			w.endObject()
		}
	}
	w.endArray()
	w.endObject()
}
