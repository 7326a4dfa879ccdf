// Package logfile writes a log file from front to back with as few system calls as the file
// allows: Appender reserves space ahead and copies each write into a shared mapping of it, or
// falls back to plain writes. It is the DB's log writer's file layer; users never see it (the
// public filesystem seam is package vfs).
//
// Invariants: bytes written are in the file (visible to readers and to a process that opens it
// after this one was killed) when Write returns; the file is cut to exactly the bytes written
// by Finish and Close; a store's leading bytes (a record's header) become visible last. Write,
// Finish and Close come from one goroutine at a time; Sync may run beside them.
package logfile

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"syscall"

	"github.com/stratadb/strata/vfs"
)

// Appender writes a new file from front to back, as a log is written, with no system call per
// Write where the file allows it.
//
// When the file is vfs.Preallocatable, the Appender reserves space ahead with Allocate and writes
// through a shared mapping of it (MapWritable): a Write is a memory copy into the page cache.
// The bytes are in the file when Write returns, as after a write(2): a process killed at any
// later instant loses nothing, and Sync makes them durable. Growing the reservation (by
// AppenderOptions.Reserve at a time, at least doubling) is the only system call on the write
// path. While the Appender is open the file is longer than what was written, its tail zero;
// Finish and Close cut it to the bytes written. A reader of the file meanwhile, or after a
// crash, sees the written bytes followed by zeros. In-place writes store each Write's first
// vfs.StoreLastBytes bytes last (see WritableRegion.Store), so a process killed during a Write
// leaves them zero; WriteHeadsLast does the same for several heads of one write (the headers of
// a log record's fragments).
//
// Otherwise (another kind of file, a filesystem without fallocate, a failed first mapping, or
// AppenderOptions.NoMap) each Write is one Write of the file, at its end; and if mapping more of
// the file fails later, each Write is one WriteAt past the bytes written.
//
// Concurrency: Write, Finish and Close come from one goroutine at a time; Sync may run
// concurrently with them (it only syncs the file).
type Appender struct {
	f       vfs.File
	name    string
	pa      vfs.Preallocatable // nil: plain writes
	syncer  vfs.Preallocatable // the file's SyncData, whether or not the writes are mapped; or nil
	region  vfs.WritableRegion
	huge    bool
	reserve int64
	size    int64 // bytes written
	mapped  int64 // bytes allocated and mapped from 0 (0 before the first Write)
	err     error // sticky: a failed store, mapping or truncation
	done    bool  // Finish was called
	// positional: a mapping failed after the first; Writes go to pa.WriteAt past size.
	positional bool
	released   int64        // the mapping's bytes before this offset were Released
	syncNext   bool         // SetSyncNext: the next write will be synced
	zeroedTo   int64        // zeros were written (not only allocated) up to here; see zeroAhead
	stored     atomic.Int64 // bytes written through the mapping (see MappedBytes)
}

// AppenderOptions configure NewAppender.
type AppenderOptions struct {
	// Reserve is how much space to allocate ahead when the file needs more: at the first Write
	// and then whenever a Write would pass the reservation. 0 means 1 MiB. It is rounded up to
	// 2 MiB with Huge.
	Reserve int64
	// Huge maps the file with huge pages where the system supports them: a page fault per 2 MiB
	// of appends instead of per 4 KiB, but a Sync writes back whole 2 MiB pages, so it suits
	// files that are rarely synced.
	Huge bool
	// NoMap makes every Write a plain Write of the file.
	NoMap bool
}

const (
	defaultReserve = 1 << 20
	hugePage       = 2 << 20
)

// NewAppender returns an Appender writing f, which must be empty; name names it in errors. The
// Appender owns f from now on: Close closes it.
func NewAppender(f vfs.File, name string, o AppenderOptions) *Appender {
	a := &Appender{f: f, name: name, huge: o.Huge, reserve: o.Reserve}
	if a.reserve <= 0 {
		a.reserve = defaultReserve
	}
	if a.huge {
		a.reserve = (a.reserve + hugePage - 1) &^ (hugePage - 1)
	}
	if pa, ok := f.(vfs.Preallocatable); ok {
		a.syncer = pa
		if !o.NoMap {
			a.pa = pa
		}
	}
	return a
}

// InPlace reports whether Writes store through a mapping (so far: a first Write that cannot
// map falls back to plain writes). It makes an Appender a wal.InPlaceWriter.
func (a *Appender) InPlace() bool { return a.pa != nil && !a.positional }

// Huge reports whether the Appender was asked for huge pages.
func (a *Appender) Huge() bool { return a.huge }

// Size returns the number of bytes written.
func (a *Appender) Size() int64 { return a.size }

// Write appends p. It writes all of p or returns an error; after an error other than a failed
// Allocate (a full disk, which leaves the file as it was) every later Write fails too.
func (a *Appender) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	if a.done {
		return 0, fmt.Errorf("write to %s after Finish", a.name)
	}
	if a.pa == nil || a.positional {
		var n int
		var err error
		if a.positional {
			n, err = a.pa.WriteAt(p, a.size)
		} else {
			n, err = a.f.Write(p)
		}
		a.size += int64(n)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		if err != nil {
			a.err = err
		}
		return n, err
	}
	if mapped, err := a.mapFor(len(p)); err != nil || !mapped {
		if err != nil {
			return 0, err
		}
		return a.Write(p)
	}
	if err := a.store(a.size, p); err != nil {
		return 0, err
	}
	return a.advanceMapped(len(p)), nil
}

// mapFor makes sure the mapping covers n more bytes and vfs.StoreLastBytes past them (so that every
// Store's head is one store), growing the reservation if needed. It reports false when the
// Appender fell back to plain or positioned writes instead.
func (a *Appender) mapFor(n int) (bool, error) {
	if end := a.size + int64(n) + vfs.StoreLastBytes; end > a.mapped {
		if err := a.grow(end); err != nil {
			return false, err
		}
	}
	return a.pa != nil && !a.positional, nil
}

// store copies p into the mapping at off; a failure is sticky.
func (a *Appender) store(off int64, p []byte) error {
	if err := a.region.Store(int(off), p); err != nil {
		a.err = err
		return err
	}
	return nil
}

// advanceMapped counts n bytes stored through the mapping as written and returns n.
func (a *Appender) advanceMapped(n int) int {
	a.size += int64(n)
	a.stored.Add(int64(n))
	a.release()
	return n
}

// SetSyncNext tells the Appender whether the next write will be synced before another one
// comes. Such a write goes through pwrite(2) instead of the mapping: the sync before it wrote
// the page back and left it write-protected in the mapping, so a store would take a page fault,
// which costs more than the system call (on the virtual machines measured here, 10-15 us
// against 2). A write within one page is one pwrite, which the kernel copies whole or not at all
// if the process is killed; a longer one is a pwrite of every byte but its heads, then one of
// each head, as WriteHeadsLast stores them (unless a head straddles two pages: then the write
// takes the mapping).
func (a *Appender) SetSyncNext(sync bool) { a.syncNext = sync }

// osPageSize is the page size the kernel writes back and write-protects: 4 KiB on every platform
// Strata maps logs on; a larger page only makes more writes take the mapping.
const osPageSize = 4096

// headsInPages reports whether each head of a write at off lies within one page, so that a
// pwrite of it is whole or not at all if the process is killed.
func headsInPages(off int64, heads []int, headLen int) bool {
	for _, h := range heads {
		if start := off + int64(h); start/osPageSize != (start+int64(headLen)-1)/osPageSize {
			return false
		}
	}
	return true
}

// writeHeadsLastAt writes p with pwrite(2), every byte but the heads first and then each head,
// as WriteHeadsLast stores through the mapping.
func (a *Appender) writeHeadsLastAt(p []byte, heads []int, headLen int) (int, error) {
	put := func(from, to int) error {
		n, err := a.pa.WriteAt(p[from:to], a.size+int64(from))
		if err == nil && n < to-from {
			err = io.ErrShortWrite
		}
		return err
	}
	var err error
	for i, h := range heads {
		to := len(p)
		if i+1 < len(heads) {
			to = heads[i+1]
		}
		if err == nil && h+headLen < to {
			err = put(h+headLen, to)
		}
	}
	if err == nil && heads[0] > 0 {
		err = put(0, heads[0])
	}
	for _, h := range heads {
		if err == nil {
			err = put(h, h+headLen)
		}
	}
	if err != nil {
		a.err = err
		return 0, err
	}
	a.size += int64(len(p))
	return len(p), nil
}

// zeroAheadBytes is how much of the reservation zeroAhead writes at a time.
const zeroAheadBytes = 64 << 10

// zeroes is what zeroAhead writes; nothing writes into it.
var zeroes = make([]byte, zeroAheadBytes)

// zeroAhead writes zeros with pwrite(2) over the next zeroAheadBytes of the reservation past the
// page holding end, unless at least a page past it is zeroed already. Allocate reserves blocks
// that the filesystem marks unwritten (they read as zeros); the first sync after a write into
// such a block must also commit the change of the block's state to the journal: every fourth
// sync for groups of eight 100-byte writes. Zeros written ahead, 64 KiB at a time, take that
// state change once per 64 KiB instead, at the next sync (measured: eight synced writers
// 182-218 -> 160-172 us per write, one writer unchanged). The zeros are what the reservation
// reads as anyway, so a crash at any point leaves the same bytes.
func (a *Appender) zeroAhead(end int64) error {
	from := (end + osPageSize - 1) &^ (osPageSize - 1)
	if a.zeroedTo >= from+osPageSize {
		return nil
	}
	from = max(from, a.zeroedTo)
	to := min(from+zeroAheadBytes, a.mapped)
	if to <= from {
		return nil
	}
	if n, err := a.pa.WriteAt(zeroes[:to-from], from); err != nil || n < int(to-from) {
		if err == nil {
			err = io.ErrShortWrite
		}
		a.err = err
		return err
	}
	a.zeroedTo = to
	return nil
}

// writeAt writes p past the bytes written with pwrite(2), into the reservation.
func (a *Appender) writeAt(p []byte) (int, error) {
	n, err := a.pa.WriteAt(p, a.size)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		a.err = err
		return 0, err
	}
	a.size += int64(n)
	return n, nil
}

// MappedBytes returns how many bytes were written through the mapping: bytes that reached the
// file without a write(2), so that counters of written bytes such as /proc/self/io's wchar do
// not see them. It may be called concurrently with Write.
func (a *Appender) MappedBytes() int64 { return a.stored.Load() }

// release gives up the mapping of every whole 2 MiB written so far (see WritableRegion.Release):
// the Appender never touches them again, and a log written with write(2) is not part of the
// process's memory either.
func (a *Appender) release() {
	if end := a.size &^ (hugePage - 1); end > a.released {
		a.region.Release(int(a.released), int(end-a.released))
		a.released = end
	}
}

// WriteHeadsLast appends p like Write, except that when it stores through the mapping it stores
// the headLen bytes at each offset in heads (at most vfs.StoreLastBytes; in increasing order) after
// all the other bytes, in order, each in one store: a process killed during the call leaves
// zeros where the heads not yet stored go. (With huge pages, a head in a page the write has
// already moved past is written with pwrite(2) instead, in the same order: see headsWrite.) It
// makes an Appender a wal.InPlaceWriter, whose heads are the headers of a record's fragments.
func (a *Appender) WriteHeadsLast(p []byte, heads []int, headLen int) (int, error) {
	if a.err != nil || a.done || a.pa == nil || a.positional || len(heads) == 0 || headLen > vfs.StoreLastBytes {
		return a.Write(p)
	}
	if mapped, err := a.mapFor(len(p)); err != nil || !mapped {
		if err != nil {
			return 0, err
		}
		return a.Write(p)
	}
	if a.syncNext {
		if err := a.zeroAhead(a.size + int64(len(p))); err != nil {
			return 0, err
		}
		if a.size/osPageSize == (a.size+int64(len(p))-1)/osPageSize {
			return a.writeAt(p)
		}
		if headsInPages(a.size, heads, headLen) {
			return a.writeHeadsLastAt(p, heads, headLen)
		}
	}
	// Everything but the heads, in order of offset, then the heads in order.
	w := headsWrite{a: a, base: a.size, early: a.huge && headsInPages(a.size, heads, headLen)}
	if heads[0] > 0 {
		if err := w.body(0, p[:heads[0]]); err != nil {
			return 0, err
		}
	}
	for i, h := range heads {
		from, to := h+headLen, len(p)
		if i+1 < len(heads) {
			to = heads[i+1]
		}
		if from < to {
			if err := w.body(from, p[from:to]); err != nil {
				return 0, err
			}
		}
	}
	for _, h := range heads {
		if err := w.head(h, p[h:h+headLen]); err != nil {
			return 0, err
		}
	}
	return a.advanceMapped(len(p)), nil
}

// headsWrite stores one WriteHeadsLast through the mapping.
//
// With huge pages, a write that crosses into the next huge page gives up the mapping of the
// pages before it first, once its bytes there (all but its heads) are stored: otherwise the
// process would map both while the next one is faulted in (allocating and zeroing 2 MiB takes
// long enough to show in its peak resident memory, and the kernel's high-water mark records the
// moment of the release). The heads that lie in the pages given up are then written with
// pwrite(2), which is whole or not at all if the process is killed when the head lies within
// one 4 KiB page (early is false otherwise: then the pages are given up after the write, as
// usual). The order of the stores is the same either way: every other byte, then each head.
type headsWrite struct {
	a     *Appender
	base  int64 // the write's offset in the file
	early bool  // release huge pages as the stores pass them
}

// body stores b, bytes of the write at offset off in it that are not heads.
func (w *headsWrite) body(off int, b []byte) error {
	a := w.a
	at := w.base + int64(off)
	for w.early && len(b) > 0 {
		page := at &^ (hugePage - 1)
		if page > a.released {
			a.region.Release(int(a.released), int(page-a.released))
			a.released = page
		}
		n := min(int64(len(b)), page+hugePage-at)
		if err := a.store(at, b[:n]); err != nil {
			return err
		}
		at, b = at+n, b[n:]
	}
	if len(b) == 0 {
		return nil
	}
	return a.store(at, b)
}

// head stores the head h at offset off of the write: with pwrite(2) if its page was released.
func (w *headsWrite) head(off int, h []byte) error {
	a := w.a
	at := w.base + int64(off)
	if at >= a.released {
		return a.store(at, h)
	}
	n, err := a.pa.WriteAt(h, at)
	if err == nil && n < len(h) {
		err = io.ErrShortWrite
	}
	if err != nil {
		a.err = err
		return err
	}
	a.stored.Add(-int64(n)) // counted by advanceMapped, but written with a system call
	return nil
}

// grow allocates and maps at least need bytes. Before anything is written, a filesystem that
// cannot allocate or map makes the Appender fall back to plain writes.
func (a *Appender) grow(need int64) error {
	size := max(need+a.reserve, 2*a.mapped)
	if a.huge {
		size = (size + hugePage - 1) &^ (hugePage - 1)
	}
	if err := a.pa.Allocate(size); err != nil {
		if a.mapped == 0 && unsupported(err) {
			a.pa = nil
			return nil
		}
		return fmt.Errorf("reserve %d bytes for %s: %w", size, a.name, err)
	}
	if a.region != nil {
		if err := a.region.Close(); err != nil {
			a.err = err
			return err
		}
		a.region = nil
	}
	r, err := a.pa.MapWritable(int(size), a.huge)
	if err != nil {
		if a.mapped == 0 {
			// Nothing written yet: undo the reservation and write plainly.
			if terr := a.pa.Truncate(0); terr == nil {
				a.pa = nil
				return nil
			}
		}
		// Go on with positioned writes; Finish still cuts the reservation off.
		a.positional, a.mapped = true, size
		return nil
	}
	a.region, a.mapped = r, size
	return nil
}

// unsupported reports whether err says the filesystem cannot preallocate.
func unsupported(err error) bool {
	return errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL)
}

// Sync makes every byte written so far durable. It may run concurrently with Write.
func (a *Appender) Sync() error {
	if a.syncer != nil {
		return a.syncer.SyncData()
	}
	return a.f.Sync()
}

// Finish unmaps the file and cuts it to the bytes written (if a cut fails, the file keeps a
// zero tail, which readers of a log take for its end); later Writes fail, Sync still works. It
// does nothing the second time.
func (a *Appender) Finish() error {
	if a.done || a.pa == nil || a.mapped == 0 {
		a.done = true
		return nil
	}
	a.done = true
	var err error
	if a.region != nil {
		err = a.region.Close()
		a.region = nil
	}
	// After a failed Write this also cuts away whatever part of it was stored.
	if terr := a.pa.Truncate(a.size); err == nil {
		err = terr
	}
	return err
}

// Close finishes the file and closes it.
func (a *Appender) Close() error {
	err := a.Finish()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	return err
}
