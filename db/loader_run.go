package db

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// A bulk load's runs: sorting a buffer, writing it to a temporary file, and reading the runs
// back in one merged order for Commit.

// sort orders the buffer's entries by key, equal keys in the order they were Put.
func (b *loadBuffer) sort(c keys.Comparator, bytewise bool) {
	if bytewise {
		slices.SortFunc(b.ents, func(x, y loadEntry) int {
			if x.prefix != y.prefix {
				return cmp.Compare(x.prefix, y.prefix)
			}
			if c := bytes.Compare(b.key(x), b.key(y)); c != 0 {
				return c
			}
			return cmp.Compare(x.off, y.off)
		})
		return
	}
	slices.SortFunc(b.ents, func(x, y loadEntry) int {
		if c := c.Compare(b.key(x), b.key(y)); c != 0 {
			return c
		}
		return cmp.Compare(x.off, y.off)
	})
}

// loadSource is one sorted input of a load's merge: a run on disk or the last buffer. Each
// key appears once in a source.
type loadSource interface {
	// next moves to the next key (the first, on the first call).
	next() bool
	// seek moves to the first key at or after key; it is called at most once, instead of the
	// first next.
	seek(key []byte) bool
	key() []byte // user key; valid until the next move
	value() []byte
	err() error
	close() error
}

// bufferSource reads a sorted loadBuffer in order, each key once: the last value Put for it.
type bufferSource struct {
	b        *loadBuffer
	cmp      keys.Comparator
	bytewise bool // the entries' prefixes are set (see loadBuffer.add)
	i        int  // the entry at hand; -1 before the first
	touched  byte // the sum of the keys' first bytes read ahead, so that the reads stay
}

// loadPrefetch is how far ahead of the entry at hand a bufferSource reads a key's first byte.
// The sorted entries visit the arena in no order, a cache (and TLB) miss per key; read ahead,
// the misses overlap with the work on the keys before. Writing a run's keys from a buffer of
// 450 MB took 280 ns a key, most of it waiting on the key's bytes.
const loadPrefetch = 16

func newBufferSource(b *loadBuffer, c keys.Comparator) *bufferSource {
	return &bufferSource{b: b, cmp: c, bytewise: keys.IsBytewise(c), i: -1}
}

func (s *bufferSource) next() bool {
	ents := s.b.ents
	s.i++
	if j := s.i + loadPrefetch; j < len(ents) {
		s.touched += s.b.arena[ents[j].off] // a key is followed by its value's length: in range
	}
	// Of a run of equal keys, the last was Put last.
	for s.i+1 < len(ents) && s.same(ents[s.i], ents[s.i+1]) {
		s.i++
	}
	return s.i < len(ents)
}

func (s *bufferSource) seek(key []byte) bool {
	ents := s.b.ents
	j, _ := slices.BinarySearchFunc(ents, key, func(e loadEntry, k []byte) int { return s.cmp.Compare(s.b.key(e), k) })
	s.i = j - 1
	return s.next()
}

// same reports whether two entries hold equal keys. Under the bytewise order the entries
// decide most pairs without reading the keys, which lie scattered in the arena: a cache miss
// each, and most of a load's time when every pair was compared (19 of 80 s of CPU loading
// 100,000,000 names).
func (s *bufferSource) same(x, y loadEntry) bool {
	if !s.bytewise {
		return s.cmp.Compare(s.b.key(x), s.b.key(y)) == 0
	}
	if x.prefix != y.prefix || x.klen != y.klen {
		return false
	}
	return x.klen <= 8 || bytes.Equal(s.b.key(x), s.b.key(y))
}

func (s *bufferSource) key() []byte   { return s.b.key(s.b.ents[s.i]) }
func (s *bufferSource) value() []byte { return s.b.value(s.b.ents[s.i]) }
func (s *bufferSource) err() error    { return nil }
func (s *bufferSource) close() error  { return nil }

// Runs are tables of internal keys, all with the run's rank as sequence number, written
// uncompressed in large blocks: they are read once, in order.
const loadRunBlockSize = 64 << 10

// writeLoadRun writes b, sorted, to a new temporary file (kept in pendingOutputs until the
// load ends) and returns it as run number rank.
func (d *DB) writeLoadRun(b *loadBuffer, rank int) (run *loadRun, err error) {
	num, err := d.newLoadFileNumber()
	if err != nil {
		return nil, err
	}
	run = &loadRun{num: num, rank: rank}
	path := filenames.Path(d.dir, filenames.Temp, num)
	defer func() {
		if err != nil {
			d.removeLoadRuns([]*loadRun{run})
			run = nil
		}
	}()
	f, err := d.fs.Create(path)
	if err != nil {
		return run, dberr.Wrap(err, "create bulk load run %s", path)
	}
	w := sstable.NewWriter(f, sstable.WriterOptions{
		Comparator:  d.icmp,
		BlockSize:   loadRunBlockSize,
		Compression: sstable.NoCompression,
	})
	src := newBufferSource(b, d.opts.Comparator)
	var ikey []byte
	for src.next() {
		k := src.key()
		if run.entries == 0 {
			run.lo = slices.Clone(k)
		}
		ikey = keys.AppendInternalKey(ikey[:0], k, keys.SeqNum(rank), keys.KindSet)
		if err = w.Add(ikey, src.value()); err != nil {
			break
		}
		run.entries++
	}
	if run.entries > 0 {
		run.hi = slices.Clone(b.key(b.ents[len(b.ents)-1]))
		run.quartiles = b.quartiles()
	}
	if err == nil {
		_, err = w.Finish()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return run, dberr.Wrap(err, "write bulk load run %s", path)
	}
	return run, nil
}

// newLoadFileNumber takes a file number for a load's file and keeps it in pendingOutputs.
func (d *DB) newLoadFileNumber() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.closing {
		return 0, ErrClosed
	}
	num := d.mu.vs.NewFileNumber()
	d.mu.pendingOutputs[num] = struct{}{}
	return num, nil
}

// removeLoadRuns removes the runs' files and releases their numbers.
func (d *DB) removeLoadRuns(runs []*loadRun) {
	if len(runs) == 0 {
		return
	}
	for _, r := range runs {
		_ = d.fs.Remove(filenames.Path(d.dir, filenames.Temp, r.num))
	}
	d.mu.Lock()
	for _, r := range runs {
		delete(d.mu.pendingOutputs, r.num)
	}
	d.mu.Unlock()
}

// unmappedFile hides a file's vfs.Mappable, so that sstable.Open reads it with ReadAt: a run is
// read once, in order, and its pages should not count in the process's memory as mapped pages
// would.
type unmappedFile struct{ vfs.File }

// runSource reads a run back.
type runSource struct {
	f  vfs.File
	r  *sstable.Reader
	it *sstable.Iterator
	ok bool
}

func (d *DB) openLoadRun(run *loadRun) (*runSource, error) {
	path := filenames.Path(d.dir, filenames.Temp, run.num)
	f, err := d.fs.Open(path)
	if err != nil {
		return nil, dberr.Wrap(err, "open bulk load run %s", path)
	}
	fi, err := f.Stat()
	if err == nil {
		var r *sstable.Reader
		if r, err = sstable.Open(unmappedFile{f}, path, fi.Size(), sstable.ReaderOptions{Comparator: d.icmp}); err == nil {
			return &runSource{f: f, r: r, it: r.NewIterator(sstable.ReadOptions{DontFillCache: true})}, nil
		}
	}
	f.Close()
	return nil, dberr.Wrap(err, "open bulk load run %s", path)
}

func (s *runSource) next() bool {
	if s.ok {
		s.ok = s.it.Next()
	} else {
		s.ok = s.it.First()
	}
	return s.ok
}

func (s *runSource) seek(key []byte) bool {
	s.ok = s.it.SeekGE(keys.AppendInternalKey(nil, key, keys.MaxSeqNum, keys.KindMax))
	return s.ok
}

func (s *runSource) key() []byte   { return keys.UserKey(s.it.Key()) }
func (s *runSource) value() []byte { return s.it.Value() }
func (s *runSource) err() error    { return s.it.Error() }

func (s *runSource) close() error {
	err := s.it.Close()
	if rerr := s.r.Close(); err == nil {
		err = rerr
	}
	if ferr := s.f.Close(); err == nil {
		err = ferr
	}
	return err
}

// loadMerger merges a load's sources into one order, each key once: the value of the source
// of the highest rank that holds it (the latest Put), from a lower bound (inclusive) to an upper
// bound (exclusive), either nil for none.
type loadMerger struct {
	cmp   keys.Comparator
	hi    []byte     // the upper bound, or nil
	heads []loadHead // a heap: the smallest key first, of equal keys the highest rank
	prev  []byte     // the key returned last
	begun bool
	err   error
	all   []loadSource
}

type loadHead struct {
	src  loadSource
	rank int
}

func newLoadMerger(c keys.Comparator, srcs []loadSource, ranks []int, lo, hi []byte) *loadMerger {
	m := &loadMerger{cmp: c, hi: hi, all: srcs}
	for i, s := range srcs {
		var ok bool
		if lo != nil {
			ok = s.seek(lo)
		} else {
			ok = s.next()
		}
		if ok {
			m.heads = append(m.heads, loadHead{s, ranks[i]})
		} else if err := s.err(); err != nil {
			m.err = err
		}
	}
	for i := len(m.heads)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

func (m *loadMerger) less(a, b loadHead) bool {
	if c := m.cmp.Compare(a.src.key(), b.src.key()); c != 0 {
		return c < 0
	}
	return a.rank > b.rank
}

func (m *loadMerger) down(i int) {
	h := m.heads
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && m.less(h[r], h[l]) {
			j = r
		}
		if !m.less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// advanceTop moves the smallest source on, dropping it when it ends.
func (m *loadMerger) advanceTop() {
	top := m.heads[0].src
	if !top.next() {
		if err := top.err(); err != nil && m.err == nil {
			m.err = err
		}
		last := len(m.heads) - 1
		m.heads[0] = m.heads[last]
		m.heads = m.heads[:last]
	}
	if len(m.heads) > 0 {
		m.down(0)
	}
}

// next moves to the next key; key and value are then the top's.
func (m *loadMerger) next() bool {
	if m.err != nil {
		return false
	}
	if m.begun {
		m.advanceTop()
		// Older sources' entries of the key just returned.
		for len(m.heads) > 0 && m.err == nil && m.cmp.Compare(m.heads[0].src.key(), m.prev) == 0 {
			m.advanceTop()
		}
	}
	m.begun = true
	if len(m.heads) == 0 || m.err != nil {
		return false
	}
	if m.hi != nil && m.cmp.Compare(m.heads[0].src.key(), m.hi) >= 0 {
		m.heads = m.heads[:0] // the smallest key left is past the bound, and so are the rest
		return false
	}
	m.prev = append(m.prev[:0], m.heads[0].src.key()...)
	return true
}

func (m *loadMerger) key() []byte   { return m.heads[0].src.key() }
func (m *loadMerger) value() []byte { return m.heads[0].src.value() }

// close closes every source and returns the first error met.
func (m *loadMerger) close() error {
	err := m.err
	for _, s := range m.all {
		if cerr := s.close(); err == nil {
			err = cerr
		}
	}
	return err
}
