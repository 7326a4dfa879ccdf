package db

import (
	"sync"
)

// The memory budget (Options.MemoryBudget).
//
// One number B bounds what the DB takes for memory of its own. Its parts, each bounded:
//
//   - memtables: B/4, the write buffer cut so that the memtable, the one being flushed and the
//     spare kept for reuse (three arenas of memCapacity and their hash indexes) fit
//     (budgetWriteBuffer);
//   - the block cache: B/4 (or BlockCacheSize, when set and smaller);
//   - mapped tables: tables are mapped while the mapped files' sizes add up to at most B/4, plus
//     what a smaller BlockCacheSize leaves of the cache's quarter (a
//     mapped file's pages become resident as reads touch them, up to its size); the table
//     cache opens the others for ReadAt, their blocks going through the block cache;
//   - open tables' indexes and filters (decoded into the heap at open; the filter of a
//     mapped table is read in place and counts with the mapped tables), and bulk loaders'
//     buffers: what is left. A loader reserves its buffers when it starts and waits, as a write
//     stall of reason StallMemory, until they fit; its buffers shrink to fit when the budget
//     could never hold them.
//
// Every part is counted at its bound (the block cache at its capacity, a mapped table at its
// file's size, the memtables at their arenas' capacities and their indexes' sizes), so
// MemoryMetrics.Total, the sum, is an upper bound of what the parts can take at that moment. The indexes and filters of the open
// tables are the one part the budget does not cap in advance (the table cache bounds their
// number, MaxOpenFiles): when they alone outgrow what is left, loaders wait, and Metrics shows it.
// Without a budget (B = 0) the same parts are counted, and nothing waits.

// Minimum budget: below it the parts would be too small to work.
const minMemoryBudget = 16 << 20

// memBudget accounts for the parts of the budget that change while the DB runs.
type memBudget struct {
	total     int64 // B; 0: no budget
	mappedCap int64 // the bound of mapped table bytes
	fixed     int64 // the block cache's capacity and the memtables' most

	mu      sync.Mutex
	cond    sync.Cond
	closed  bool
	mapped  int64 // sizes of the table files open through a mapping
	tables  int64 // heap bytes of the open tables' readers
	loaders int64 // bytes reserved by loaders
}

func newMemBudget(total, blockCache, memtables int64) *memBudget {
	b := &memBudget{total: total}
	if total > 0 {
		// What a smaller BlockCacheSize leaves of the cache's quarter goes to mapped tables.
		b.mappedCap = total/4 + max(total/4-max(blockCache, 0), 0)
		b.fixed = max(blockCache, 0) + memtables
	}
	b.cond.L = &b.mu
	return b
}

// reserveMapping reports whether a table of size bytes may be mapped, and if so counts it.
func (b *memBudget) reserveMapping(size int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total > 0 && b.mapped+size > b.mappedCap {
		return false
	}
	b.mapped += size
	return true
}

// addTable counts an open table: mapped bytes already reserved, heap bytes of its reader.
func (b *memBudget) addTable(heap int64) {
	b.mu.Lock()
	b.tables += heap
	b.mu.Unlock()
}

// releaseTable uncounts a closed table.
func (b *memBudget) releaseTable(mapped, heap int64) {
	b.mu.Lock()
	b.mapped -= mapped
	b.tables -= heap
	b.mu.Unlock()
	b.cond.Broadcast()
}

// loaderRoom returns the bytes loaders may still reserve, and the most they could with no
// other loader. Requires b.mu.
func (b *memBudget) loaderRoomLocked() (now, alone int64) {
	alone = b.total - b.fixed - b.mappedCap - b.tables
	return alone - b.loaders, alone
}

// minLoaderReserve is the smallest reservation a loader shrinks to: two buffers of 256 KiB.
const minLoaderReserve = 512 << 10

// reserveLoader reserves up to want bytes for a loader's buffers and returns how many it got:
// want when the budget can ever hold it, else what it can hold with no other loader (at least
// minLoaderReserve). It waits, calling stall first (once), while other loaders hold the room.
// A closed DB gives ErrClosed.
func (b *memBudget) reserveLoader(want int64, stall func()) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total == 0 {
		b.loaders += want
		return want, nil
	}
	stalled := false
	for {
		if b.closed {
			return 0, ErrClosed
		}
		now, alone := b.loaderRoomLocked()
		n := max(min(want, alone), minLoaderReserve)
		if n <= now || b.loaders == 0 {
			// With no other loader, the smallest reservation goes ahead even when the
			// indexes left no room: Metrics shows the total over the budget.
			b.loaders += n
			return n, nil
		}
		if !stalled && stall != nil {
			stalled = true
			b.mu.Unlock()
			stall()
			b.mu.Lock()
			continue
		}
		b.cond.Wait()
	}
}

// releaseLoader returns a loader's reservation.
func (b *memBudget) releaseLoader(n int64) {
	b.mu.Lock()
	b.loaders -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// close wakes every waiting loader with ErrClosed.
func (b *memBudget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

// snapshot returns the changing parts.
func (b *memBudget) snapshot() (mapped, tables, loaders int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mapped, b.tables, b.loaders
}
