package sstable

// Layout describes how a table is laid out, for tools such as sstdump.
type Layout struct {
	Footer Footer
	// Index lists the index block's entries in order: one per data block.
	Index []IndexEntry
	// Metaindex lists the metaindex block's entries.
	Metaindex []MetaEntry
	// FilterName is the name of the filter policy in use ("" when the reader uses no filter),
	// and Filter the handle of its block.
	FilterName string
	Filter     BlockHandle
}

// IndexEntry is an index block entry: a data block's separator key and handle.
type IndexEntry struct {
	Separator []byte
	Handle    BlockHandle
}

// Layout returns the table's layout as Open read it. The slices are copies.
func (r *Reader) Layout() Layout {
	l := Layout{Footer: r.footer, FilterName: r.filterName, Filter: r.filterH}
	for i := range r.index.ents {
		l.Index = append(l.Index, IndexEntry{
			Separator: append([]byte(nil), r.index.key(i)...),
			Handle:    r.index.ents[i].h,
		})
	}
	for _, m := range r.meta {
		l.Metaindex = append(l.Metaindex, MetaEntry{Name: m.Name, Value: append([]byte(nil), m.Value...)})
	}
	return l
}

// ReadBlock reads the block at h, checks its handle and checksum, and returns its contents
// decompressed (in fresh memory) and the compression type byte its trailer holds. It does not
// check the block's structure: WalkBlock does.
func (r *Reader) ReadBlock(h BlockHandle) (contents []byte, compressionType byte, err error) {
	return r.readBlock(h, "block", nil)
}
