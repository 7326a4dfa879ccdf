package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/stratadb/strata/sstable"
)

var propsCommand = &command{
	synopsis: "sstdump props [flags] TABLE",
	summary:  "print a table's layout and statistics",
	arg:      "TABLE",
	doc: `
Prints the table's footer, the handles (offset and size) of its index, metaindex and filter
blocks, its meta blocks, the number of data blocks and entries, key and value bytes, the
data size decompressed ("raw") and as stored, the compression ratio (raw / stored), the
smallest and largest key, and the filter policy's name. For a DB's table (internal keys) it
also counts SETs and DELs and gives the range of sequence numbers.

It reads every data block, one at a time, verifying its checksum; problems it meets are
reported on stderr (exit status 1), as 'sstdump check' would report them. A file that is not
a table (too short, or without the table magic) gives exit status 2. With --format=json the
properties are one JSON object (see docs/sstdump.md).`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var hex, raw bool
		fs.BoolVar(&hex, "hex", false, "print keys as hex")
		fs.BoolVar(&raw, "raw", false, "treat keys as raw bytes even if they parse as internal keys")
		return func(e *env, args []string) error { return props(e, args[0], bytesFormat{hex: hex}, raw) }
	},
}

func props(e *env, path string, bf bytesFormat, raw bool) error {
	t, f, err := openTableFile(e, path, raw)
	if err != nil {
		e.fileError(path, err)
		return nil
	}
	defer f.Close()
	r := &reporter{path: path, emit: e.stderrFindings()}
	st := checkTable(t, tableCheckOptions{order: true}, r, nil)
	r.flushSuppressed()
	if e.json {
		var w jsonWriter
		appendPropsJSON(&w, path, t, &st, bf)
		e.out.write(w.line())
		return nil
	}

	var b strings.Builder
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "%-19s %s\n", name+":", fmt.Sprintf(format, args...))
	}
	handle := func(h sstable.BlockHandle) string { return fmt.Sprintf("offset %d, size %d", h.Offset, h.Size) }
	line("file", "%s", path)
	line("size", "%d bytes", t.size)
	if t.internal {
		line("keys", "internal keys (user key, sequence number, kind)")
	} else {
		line("keys", "raw keys")
	}
	line("footer", "metaindex handle %s; index handle %s; magic %#016x", handle(t.metaindexH), handle(t.indexH), sstable.Magic)
	line("index block", "%s, %s", handle(t.indexH), plural(len(t.index), "entry"))
	line("metaindex block", "%s, %s", handle(t.metaindexH), plural(len(t.meta), "entry"))
	for _, m := range t.meta {
		if m.bad != nil {
			line("meta block", "%s: bad handle", m.name)
			continue
		}
		line("meta block", "%s: %s", m.name, handle(m.h))
	}
	if m, ok := t.filterEntry(); ok {
		line("filter", "%s", strings.TrimPrefix(m.name, sstable.FilterMetaPrefix))
	} else {
		line("filter", "none")
	}
	blocks := fmt.Sprintf("%d (%d snappy-compressed, %d uncompressed", st.blocks, st.snappyBlocks, st.blocks-st.badBlocks-st.snappyBlocks)
	if st.badBlocks > 0 {
		blocks += fmt.Sprintf(", %d unreadable", st.badBlocks)
	}
	line("data blocks", "%s)", blocks)
	line("entries", "%d", st.entries)
	if t.internal {
		line("kinds", "%d SET, %d DEL", st.sets, st.dels)
		if st.sets+st.dels > 0 {
			line("sequence numbers", "%d to %d", st.minSeq, st.maxSeq)
		}
	}
	line("key bytes", "%d", st.keyBytes)
	line("value bytes", "%d", st.valueBytes)
	line("raw data size", "%d bytes (data blocks decompressed)", st.rawBytes)
	line("stored data size", "%d bytes (data blocks as stored, without trailers)", st.storedBytes)
	if st.storedBytes > 0 {
		line("compression ratio", "%.3f", float64(st.rawBytes)/float64(st.storedBytes))
	} else {
		line("compression ratio", "n/a")
	}
	if st.first != nil {
		line("smallest key", "%s", formatKey(st.first, t.internal, bf))
		line("largest key", "%s", formatKey(st.last, t.internal, bf))
	} else {
		line("smallest key", "none (no entries)")
		line("largest key", "none (no entries)")
	}
	e.out.str(b.String())
	return nil
}

// appendPropsJSON writes the properties props prints as one JSON object; docs/sstdump.md
// lists its members.
func appendPropsJSON(w *jsonWriter, path string, t *table, st *tableStats, bf bytesFormat) {
	handle := func(name string, h sstable.BlockHandle) {
		w.object(name)
		w.uint("offset", h.Offset)
		w.uint("size", h.Size)
		w.endObject()
	}
	w.object("")
	w.str("file", path)
	w.uint("size", t.size)
	if t.internal {
		w.str("keys", "internal")
	} else {
		w.str("keys", "raw")
	}
	w.object("footer")
	handle("metaindex", t.metaindexH)
	handle("index", t.indexH)
	w.str("magic", fmt.Sprintf("%#016x", sstable.Magic))
	w.endObject()
	w.int("index_entries", int64(len(t.index)))
	w.int("metaindex_entries", int64(len(t.meta)))
	w.array("meta_blocks")
	for _, m := range t.meta {
		w.object("")
		w.str("name", m.name)
		if m.bad != nil {
			w.bool("bad_handle", true)
		} else {
			w.uint("offset", m.h.Offset)
			w.uint("size", m.h.Size)
		}
		w.endObject()
	}
	w.endArray()
	if m, ok := t.filterEntry(); ok {
		w.str("filter", strings.TrimPrefix(m.name, sstable.FilterMetaPrefix))
	} else {
		w.null("filter")
	}
	w.int("data_blocks", int64(st.blocks))
	w.int("snappy_blocks", int64(st.snappyBlocks))
	w.int("uncompressed_blocks", int64(st.blocks-st.badBlocks-st.snappyBlocks))
	w.int("unreadable_blocks", int64(st.badBlocks))
	w.uint("entries", st.entries)
	if t.internal {
		w.uint("sets", st.sets)
		w.uint("dels", st.dels)
		if st.sets+st.dels > 0 {
			w.uint("min_seq", uint64(st.minSeq))
			w.uint("max_seq", uint64(st.maxSeq))
		}
	}
	w.uint("key_bytes", st.keyBytes)
	w.uint("value_bytes", st.valueBytes)
	w.uint("raw_data_bytes", st.rawBytes)
	w.uint("stored_data_bytes", st.storedBytes)
	if st.storedBytes > 0 {
		w.float("compression_ratio", float64(st.rawBytes)/float64(st.storedBytes), 3)
	} else {
		w.null("compression_ratio")
	}
	for _, k := range []struct {
		name string
		key  []byte
	}{{"smallest_key", st.first}, {"largest_key", st.last}} {
		if k.key == nil {
			w.null(k.name)
		} else {
			w.key(k.name, k.key, t.internal, bf.hex)
		}
	}
	w.endObject()
}
