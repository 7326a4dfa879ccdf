package db

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/offheap"
)

// Bulk loading.
//
// A Loader takes keys in any order into a buffer of bounded size. A full buffer is sorted and
// written, on a goroutine of its own while the caller fills the other buffer, as a run: a
// temporary file (NNNNNN.dbtmp, in the table format, uncompressed, without a filter) of the
// buffer's keys in order, each key once (the last value Put for it). Commit merges the runs
// and the last buffer (kept in memory) into ordinary tables, every entry with one new sequence
// number S, and installs them with one MANIFEST edit, each table at the deepest level where
// nothing in the tree overlaps it and at no level above (loader_install.go).
//
// Sequence numbers decide which of two entries of a key is newer, in reads and in compactions,
// so S must be above every entry the load replaces and below every write that comes after it.
// Commit takes S as the next sequence number before it merges, with the writers free to go on;
// then, at the head of the commit queue (no write can happen), it checks that no write came
// meanwhile: if none did, the tables are installed and S published as is; if any did, the merge
// is made again there, with a new S, while writers wait. A load that nothing writes beside
// (the common case: filling a new DB) never holds writers back.
//
// A memtable holding a key of the load's range would be read before the tables and hide the
// load, so Commit first flushes a memtable that overlaps the range. Open transactions are sent
// back to check their reads against the DB itself (txn_check.go), which sees the loaded
// entries as written after them.
//
// Crash safety: runs and tables are numbered in the DB's pending outputs and named by no
// MANIFEST until the edit, so a crash before it leaves files that the next Open deletes (the
// DB without any of the load), and one after it the whole load.

// LoaderOptions configure a Loader. The zero value is usable.
type LoaderOptions struct {
	// BufferSize is the memory, in bytes, in which the Loader sorts keys before it writes them
	// to a temporary run file; it uses up to twice that (one buffer filling while the other is
	// sorted and written), plus the buffers of one table writer. Each key costs its length,
	// its value's, and 16 to 26 bytes. <= 0 means 64 MiB; at most 1 GiB. Under a memory budget
	// (Options.MemoryBudget) NewLoader reserves both buffers from it, waiting while other
	// loaders hold the room, and shrinks them when the budget could never hold them.
	BufferSize int
}

const (
	defaultLoaderBuffer = 64 << 20
	maxLoaderBuffer     = 1 << 30
	// loadEntrySize is a buffered key's cost beyond its bytes: its loadEntry.
	loadEntrySize = 16
)

// A Loader adds many keys to a DB much faster than Puts: no log, no memtable, and every table
// written once, at the deepest level it can go. Get one with DB.NewLoader, Put the keys in any
// order, then Commit, or Discard to give up. A Loader is not safe for concurrent use.
//
// The load is all or nothing: Commit makes every key visible at once, as one write newer
// than everything before it (a loaded key replaces the value it had); until Commit returns,
// readers see none of it, and a crash before then leaves the DB without any of it (the next
// Open deletes the load's files). The loaded tables are ordinary leveldb tables: C++ leveldb
// 1.23 opens the DB as it opens any other.
//
// Reads and writes go on while a Loader runs. Commit may hold writers back while it finishes
// (see Commit). The result is the same DB as Puts of the same keys in a batch would give, but
// for where the tables lie: a load into a range that recent writes overlap places its tables
// at level 0, which compaction then merges down like any flush.
type Loader struct {
	d        *DB
	bytewise bool
	limit    int   // bytes of a buffer: arena plus entries
	reserved int64 // bytes reserved in the memory budget, returned when the load ends

	cur     *loadBuffer
	spare   *loadBuffer    // the buffer the in-flight run was written from, once it is done
	pending chan runResult // the run being written, or nil
	runs    []*loadRun     // written runs, oldest first
	keys    int64          // Puts so far
	err     error          // sticky: the first failure
	done    bool

	parallelMin int // entries from which Commit merges in parallel: loadParallelMin
}

// NewLoader starts a bulk load into the DB (see Loader). opts may be nil. A DB opened
// read-only gives an error matching ErrReadOnly; a closed one ErrClosed.
func (d *DB) NewLoader(opts *LoaderOptions) (*Loader, error) {
	if d.closed.Load() {
		return nil, ErrClosed
	}
	if d.opts.ReadOnly {
		return nil, errReadOnly("bulk load")
	}
	limit := defaultLoaderBuffer
	if opts != nil && opts.BufferSize > 0 {
		limit = min(opts.BufferSize, maxLoaderBuffer)
	}
	// Two buffers: one filling, one being sorted and written.
	var st *stall
	got, err := d.budget.reserveLoader(2*int64(limit), func() {
		d.mu.Lock()
		st = &stall{d: d}
		st.beginLocked(StallMemory)
		d.mu.Unlock()
	})
	if st != nil {
		d.mu.Lock()
		st.endLocked()
		d.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	limit = int(got/2) &^ 7
	l := &Loader{d: d, bytewise: keys.IsBytewise(d.opts.Comparator), limit: limit, reserved: got,
		cur: newLoadBuffer(limit), parallelMin: loadParallelMin}
	// The buffers lie outside the Go heap: a Loader dropped without Commit or Discard frees them
	// when it is collected.
	runtime.SetFinalizer(l, (*Loader).freeBuffers)
	return l, nil
}

// errLoaderDone is the error of a call on a Loader after Commit or Discard.
var errLoaderDone = fmt.Errorf("%w: the loader was already committed or discarded", ErrInvalidArgument)

// Put adds key with value to the load; a later Put of the same key replaces it. Both slices
// are copied, and may be reused once Put returns. When the buffer is full, Put waits for the
// previous run to be written, then hands the buffer to be sorted and written in the background.
// An error (a failed run write, a closed DB) is sticky: every later call returns it.
func (l *Loader) Put(key, value []byte) error {
	if l.done {
		return errLoaderDone
	}
	if l.err != nil {
		return l.err
	}
	need := loadPutSize(key, value)
	if int64(len(key)) > maxLoadKey || int64(need) > maxLoaderArena {
		return fmt.Errorf("%w: bulk load of a key of %d bytes with a value of %d bytes: at most %d",
			ErrInvalidArgument, len(key), len(value), int64(maxLoaderArena))
	}
	if l.cur.bytes()+need > l.limit && len(l.cur.ents) > 0 {
		if err := l.spill(); err != nil {
			return err
		}
	}
	l.cur.add(key, value, need, l.bytewise)
	l.keys++
	return nil
}

// Bounds of one buffered entry: offsets into a buffer's arena are 32-bit.
const (
	maxLoadKey     = 1<<32 - 1
	maxLoaderArena = 1<<32 - 1 - maxLoaderBuffer
)

// Len returns the number of Puts so far (a key Put twice counts twice).
func (l *Loader) Len() int64 { return l.keys }

// spill hands the full buffer to a goroutine that sorts it and writes it as a run, after the
// run before it is done.
func (l *Loader) spill() error {
	if err := l.wait(); err != nil {
		return err
	}
	full, rank := l.cur, len(l.runs)+1
	l.cur, l.spare = l.spare, nil
	if l.cur == nil {
		l.cur = newLoadBuffer(l.limit)
	}
	l.cur.reset()
	done := make(chan runResult, 1)
	l.pending = done
	go func() {
		full.sort(l.d.opts.Comparator, l.bytewise)
		run, err := l.d.writeLoadRun(full, rank)
		done <- runResult{run, full, err}
	}()
	return nil
}

// runResult is what the goroutine writing a run hands back: the run, and the buffer it came
// from, free again.
type runResult struct {
	run *loadRun
	buf *loadBuffer
	err error
}

// wait waits for the run being written, if any, and returns its error (also kept as sticky).
func (l *Loader) wait() error {
	if l.pending == nil {
		return l.err
	}
	r := <-l.pending
	l.pending = nil
	l.spare = r.buf
	if r.err != nil && l.err == nil {
		l.err = r.err
	}
	if r.run != nil {
		l.runs = append(l.runs, r.run)
	}
	return l.err
}

// Discard gives up the load: nothing of it reaches the DB, and its temporary files are
// removed. It is idempotent, and harmless after Commit.
func (l *Loader) Discard() {
	if l.done {
		return
	}
	l.done = true
	l.wait()
	l.d.removeLoadRuns(l.runs)
	l.release()
}

// release frees the buffers and returns their reservation to the memory budget.
func (l *Loader) release() {
	runtime.SetFinalizer(l, nil)
	l.freeBuffers()
	l.runs = nil
	l.d.budget.releaseLoader(l.reserved)
	l.reserved = 0
}

// freeBuffers frees the buffers, after waiting for the run being written from one, if any (a
// Loader collected without Commit or Discard may have one).
func (l *Loader) freeBuffers() {
	if l.pending != nil {
		r := <-l.pending
		l.pending, l.spare = nil, r.buf
	}
	for _, b := range []*loadBuffer{l.cur, l.spare} {
		if b != nil {
			b.free()
		}
	}
	l.cur, l.spare = nil, nil
}

// loadBuffer holds Put keys and values, and one loadEntry per Put, in one block of the
// Loader's buffer size outside the Go heap (internal/offheap): the arena (each key followed by
// its value's length, a uvarint, and its value) grows up from the block's start and the entries
// grow down from its end, so that the pages a buffer ever touches are at most its size however
// keys and entries share it, nothing is copied as it fills, and the collector never sees it. A
// Put larger than the whole block gets a block of its own on the Go heap.
type loadBuffer struct {
	mem   offheap.Buffer // the block, until free
	block []byte         // mem's bytes, or the heap block of an oversized Put
	arena []byte         // block[:used], its capacity ending where the entries begin
	ents  []loadEntry    // the block's last len(ents)*loadEntrySize bytes; newest first until sorted
}

// newLoadBuffer returns an empty buffer of size bytes (a multiple of 8, so that the entries
// from the block's end are aligned).
func newLoadBuffer(size int) *loadBuffer {
	b := &loadBuffer{mem: offheap.Alloc(max(size, 64))}
	b.block = b.mem.Bytes()
	b.reset()
	return b
}

// free returns the block's memory; the buffer is unusable afterwards.
func (b *loadBuffer) free() {
	b.mem.Free()
	b.block, b.arena, b.ents = nil, nil, nil
}

// loadEntry is one Put: its key's first 8 bytes, big-endian and zero-padded (with the bytewise
// comparator, most comparisons end there), and where its key starts in the arena and its length.
// Entries of equal keys sort by off, the order they were Put in.
type loadEntry struct {
	prefix uint64
	off    uint32
	klen   uint32
}

func (b *loadBuffer) bytes() int { return len(b.arena) + loadEntrySize*len(b.ents) }

func (b *loadBuffer) reset() { b.arena, b.ents = b.block[:0:len(b.block)], nil }

// add adds a Put of need bytes at most (loadPutSize): the caller made sure it fits, or that the
// buffer is empty.
func (b *loadBuffer) add(key, value []byte, need int, bytewise bool) {
	if b.bytes()+need > len(b.block) {
		// An empty buffer too small for the Put: a heap block of its own, kept until the
		// buffer is freed.
		b.block = make([]byte, (need+7)&^7)
		b.reset()
	}
	var prefix uint64
	if bytewise {
		prefix = keyPrefix(key)
	}
	n := len(b.ents) + 1
	top := len(b.block) - n*loadEntrySize
	ents := unsafe.Slice((*loadEntry)(unsafe.Pointer(&b.block[top])), n)
	ents[0] = loadEntry{prefix: prefix, off: uint32(len(b.arena)), klen: uint32(len(key))}
	b.ents = ents
	b.arena = b.arena[:len(b.arena):top]
	b.arena = append(b.arena, key...)
	b.arena = binary.AppendUvarint(b.arena, uint64(len(value)))
	b.arena = append(b.arena, value...)
}

// loadPutSize is the most a Put of key and value takes of a buffer.
func loadPutSize(key, value []byte) int {
	return loadEntrySize + len(key) + binary.MaxVarintLen32 + len(value)
}

// keyPrefix returns key's first 8 bytes as a big-endian number, zero-padded: for two keys,
// a smaller prefix means a smaller key in bytewise order, and equal prefixes decide nothing.
func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var p [8]byte
	copy(p[:], key)
	return binary.BigEndian.Uint64(p[:])
}

func (b *loadBuffer) key(e loadEntry) []byte {
	return b.arena[e.off : e.off+e.klen : e.off+e.klen]
}

func (b *loadBuffer) value(e loadEntry) []byte {
	rest := b.arena[e.off+e.klen:]
	n, w := binary.Uvarint(rest)
	return rest[w : w+int(n) : w+int(n)]
}

// loadRun is a run written to disk: its file number, the number of entries, its smallest and
// largest keys (user keys), and the keys a quarter, half and three quarters of the way through
// it, where Commit may cut the merge to run it in parallel.
type loadRun struct {
	num       uint64
	rank      int // its order among the runs: a later run's value of a key wins
	entries   int
	lo, hi    []byte
	quartiles [][]byte
}

// quartiles returns copies of the keys a quarter, half and three quarters of the way through
// b's sorted entries.
func (b *loadBuffer) quartiles() [][]byte {
	q := make([][]byte, 0, 3)
	for k := 1; k <= 3; k++ {
		q = append(q, slices.Clone(b.key(b.ents[len(b.ents)*k/4])))
	}
	return q
}
