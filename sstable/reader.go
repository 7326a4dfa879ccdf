package sstable

import (
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/vfs"
)

// Reader reads one table. Open checks the footer and loads the index block, the metaindex
// block and the filter block, verifying their checksums; data blocks are read on demand. A
// Reader is safe for concurrent use by any number of goroutines until Close.
type Reader struct {
	tableFile // the file's name, size and bytes (mapped: region's bytes)

	fileNum uint64
	region  vfs.Region // nil when reading with ReadAt

	ord       order
	filterKey func([]byte) []byte
	cache     BlockCache

	footer       Footer
	index        indexTable
	meta         []MetaEntry
	filter       filterReader
	filterStored bool // the filter block is stored uncompressed: a mapping serves it (filterMapped)
	filterName   string
	filterH      BlockHandle

	checked  []atomic.Uint32 // bit i: data block i passed its checks (see block_read.go)
	kbufPool sync.Pool       // *[]byte scratch for checkBlock
	closed   atomic.Bool
}

// indexTable is the index block decoded at Open: entry i is the separator key of data block
// i (>= every key in it and < every key in the next) and the block's handle.
type indexTable struct {
	keys []byte
	ents []indexEntry
}

type indexEntry struct {
	prefix       uint64 // order.prefix of the key: most binary-search steps need nothing else
	kStart, kEnd uint32
	h            BlockHandle
}

func (t *indexTable) key(i int) []byte {
	e := &t.ents[i]
	return t.keys[e.kStart:e.kEnd:e.kEnd]
}

// seekGE returns the first entry whose separator is >= key, or len(ents). Where the order
// allows it, a step compares the eight-byte prefixes held in the entries and reads the key
// itself only when they are equal: one cache miss per step instead of two.
func (t *indexTable) seekGE(o *order, key []byte) int {
	lo, hi := 0, len(t.ents)
	if o.prefixKind == prefixNone {
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if o.compare(t.key(mid), key) < 0 {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	kp := o.prefix(key)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		ep := t.ents[mid].prefix
		if ep < kp || (ep == kp && o.compare(t.key(mid), key) < 0) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// MetaEntry is an entry of the metaindex block: a meta block's name and its encoded handle.
type MetaEntry struct {
	Name  string
	Value []byte
}

// Open opens the table in f, which is size bytes long; name is used in errors. The file is
// mapped read-only when f implements vfs.Mappable (falling back to ReadAt if mapping fails)
// and read with ReadAt otherwise. Open does not take ownership of f: the caller closes it
// after Close. Damage found while opening is reported as a *dberr.CorruptionError.
func Open(f vfs.File, name string, size int64, opts ReaderOptions) (*Reader, error) {
	r := &Reader{
		tableFile: tableFile{name: name, f: f, size: uint64(max(size, 0))},
		fileNum:   opts.FileNum,
		ord:       newOrder(opts.Comparator),
		filterKey: opts.FilterKey,
		cache:     opts.Cache,
	}
	if r.filterKey == nil {
		r.filterKey = identityKey
	}
	if _, err := r.footerOffset(); err != nil {
		return nil, err
	}
	// The footer, index, metaindex and filter are read with ReadAt, before the file is mapped:
	// read through the mapping, their pages (and their neighbours, which a page fault maps
	// with them) would stay in the process's resident memory for as long as the table is open,
	// beside the index decoded from them.
	if err := r.load(opts); err != nil {
		return nil, err
	}
	if m, ok := f.(vfs.Mappable); ok && uint64(int(size)) == r.size {
		if region, err := m.Map(int(size)); err == nil {
			if b := region.Bytes(); uint64(len(b)) == r.size {
				r.region, r.mapped = region, b
			} else {
				_ = region.Close()
			}
		}
	}
	if r.mapped != nil && r.filterStored {
		// The same bytes, which the file's pages serve from now on: no heap copy, and pages
		// that become resident only as lookups touch them. Table files never change.
		r.filter.data = r.mapped[r.filterH.Offset : r.filterH.Offset+r.filterH.Size : r.filterH.Offset+r.filterH.Size]
	}
	return r, nil
}

// load reads the footer, the index, the metaindex and the filter.
func (r *Reader) load(opts ReaderOptions) error {
	var err error
	if r.footer, err = r.readFooter(); err != nil {
		return err
	}

	// The index block: decoded whole, its handles checked against the file.
	ib, _, err := r.readBlock(r.footer.Index, "index block", nil)
	if err != nil {
		return err
	}
	n, _, err := checkBlock(ib, &r.ord, r.name, r.footer.Index.Offset, nil)
	if err != nil {
		return err
	}
	// The keys go into one buffer of their exact size: it lives as long as the table is open,
	// and growing it by appending left up to half of it unused.
	keyBytes := uint64(0)
	_ = walkBlock(ib, r.name, r.footer.Index.Offset, func(e RawEntry) bool {
		keyBytes += uint64(len(e.Key))
		return true
	})
	if keyBytes > 1<<32-1 || keyBytes > math.MaxInt {
		return r.corruptf(r.footer.Index.Offset, "index keys exceed 4 GiB")
	}
	r.index.ents = make([]indexEntry, 0, n)
	r.index.keys = make([]byte, 0, int(keyBytes))
	var derr error
	_ = walkBlock(ib, r.name, r.footer.Index.Offset, func(e RawEntry) bool {
		h, hn := decodeHandle(e.Value)
		if hn <= 0 {
			derr = r.corruptf(r.footer.Index.Offset, "index entry %d: bad block handle", len(r.index.ents))
			return false
		}
		if derr = r.checkHandle(h, h.Offset, dataBlockWhat); derr != nil {
			return false
		}
		start := len(r.index.keys)
		r.index.keys = append(r.index.keys, e.Key...)
		r.index.ents = append(r.index.ents, indexEntry{
			prefix: r.ord.prefix(e.Key), kStart: uint32(start), kEnd: uint32(len(r.index.keys)), h: h,
		})
		return true
	})
	if derr != nil {
		return derr
	}
	r.checked = make([]atomic.Uint32, (len(r.index.ents)+31)/32)

	// The metaindex block: keep its entries; find the filter.
	mb, _, err := r.readBlock(r.footer.Metaindex, "metaindex block", nil)
	if err != nil {
		return err
	}
	if err := walkBlock(mb, r.name, r.footer.Metaindex.Offset, func(e RawEntry) bool {
		r.meta = append(r.meta, MetaEntry{Name: string(e.Key), Value: e.Value})
		return true
	}); err != nil {
		return err
	}
	if opts.Filter == nil {
		return nil
	}
	names := []string{opts.Filter.Name()}
	if names[0] == BloomFilterName {
		names = append(names, LegacyBloomFilterName)
	}
	for _, name := range names {
		for _, m := range r.meta {
			if m.Name != FilterMetaPrefix+name {
				continue
			}
			h, hn := decodeHandle(m.Value)
			if hn <= 0 {
				return r.corruptf(r.footer.Metaindex.Offset, "metaindex entry %q: bad block handle", m.Name)
			}
			fb, typ, err := r.readBlock(h, "filter block", nil)
			if err != nil {
				return err
			}
			r.filterStored = typ == typeNone
			if r.filter, err = parseFilter(fb, opts.Filter, r.name, h.Offset); err != nil {
				return err
			}
			r.filterName, r.filterH = name, h
			return nil
		}
	}
	return nil
}

// filterMapped reports whether the filter's data is the mapping's (not heap memory).
func (r *Reader) filterMapped() bool { return r.mapped != nil && r.filterStored }

// MemoryUsage returns the memory the Reader holds for as long as it is open: its decoded
// index, its filter (unless it is read in place from the mapping, as a filter stored
// uncompressed in a mapped file is), its metaindex, and its checks' bitmap. Blocks it reads are
// not counted (they live in the block cache, the mapping or the caller's iterators).
func (r *Reader) MemoryUsage() int {
	n := len(r.index.keys) + cap(r.index.ents)*int(unsafe.Sizeof(indexEntry{})) + 4*len(r.checked)
	if !r.filterMapped() {
		n += len(r.filter.data)
	}
	for _, m := range r.meta {
		n += len(m.Name) + len(m.Value)
	}
	return n
}

// Close releases the mapping. Slices that Get or iterators returned from an uncompressed
// block of a mapped file become invalid: close a Reader only when nothing uses it any more.
// Close does not close the File given to Open. Closing twice is harmless.
func (r *Reader) Close() error {
	r.closed.Store(true)
	if r.region != nil {
		err := r.region.Close()
		r.region, r.mapped = nil, nil
		return err
	}
	return nil
}

// Name returns the name given to Open.
func (r *Reader) Name() string { return r.name }

// Size returns the file's length.
func (r *Reader) Size() uint64 { return r.size }

// Mapped reports whether the Reader serves blocks from a memory mapping (else ReadAt).
func (r *Reader) Mapped() bool { return r.mapped != nil }

// Get finds the first entry at or after key in the one data block that may hold key: the
// filter for that block is asked first (with FilterKey(key)), then the index, then one block
// is searched. It returns dberr.ErrNotFound when the filter rules the key out or the block has
// no entry at or after key; the caller checks whether the returned key is the one it wanted
// (for internal keys, whether the user key matches).
//
// The entry's key is appended to dst (pass a reused buffer to avoid allocating). v aliases the
// block: it stays valid while the Reader is open and must not be modified. Get allocates
// nothing when the block is cached or is an uncompressed block of a mapped file.
func (r *Reader) Get(dst, key []byte, ro ReadOptions) (k, v []byte, err error) {
	return r.get(dst, key, ro, true)
}

// get is Get, asking the filter only with useFilter.
func (r *Reader) get(dst, key []byte, ro ReadOptions, useFilter bool) (k, v []byte, err error) {
	if r.closed.Load() {
		return dst, nil, dberr.ErrClosed
	}
	i := r.index.seekGE(&r.ord, key)
	if i == len(r.index.ents) {
		return dst, nil, dberr.ErrNotFound
	}
	h := r.index.ents[i].h
	if useFilter && !r.filter.mayContain(h.Offset, r.filterKey(key)) {
		return dst, nil, dberr.ErrNotFound
	}
	contents, err := r.dataBlock(i, h, ro, nil)
	if err != nil {
		return dst, nil, err
	}
	b, ok := parseBlock(contents)
	if !ok {
		return dst, nil, r.corruptf(h.Offset, "block: bad restart array")
	}
	var it blockIter
	it.init(b, &r.ord, r.name, h.Offset)
	it.kbuf = dst[len(dst):]
	if !it.SeekGE(key) {
		if it.err != nil {
			return dst, nil, it.err
		}
		return dst, nil, dberr.ErrNotFound
	}
	return append(dst, it.key...), it.val, nil
}

// ApproximateOffsetOf returns the file offset of the data block that would hold key: about
// the number of bytes of the table that sort before key. For a key past the last block it
// returns the offset of the metaindex block (where the data ends), as leveldb does.
func (r *Reader) ApproximateOffsetOf(key []byte) uint64 {
	if i := r.index.seekGE(&r.ord, key); i < len(r.index.ents) {
		return r.index.ents[i].h.Offset
	}
	return r.footer.Metaindex.Offset
}

// NumBlocks returns the number of data blocks.
func (r *Reader) NumBlocks() int { return len(r.index.ents) }

// hasFilter reports whether the reader uses a filter block.
func (r *Reader) hasFilter() bool { return r.filter.data != nil }
