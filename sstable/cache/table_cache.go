package cache

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/internal/dberr"
)

// Table is what a TableCache holds: an open table reader (in Strata, *sstable.Reader).
type Table interface {
	Close() error
}

// maxRecordedCloseErrors bounds the close errors a TableCache without an OnCloseError
// callback keeps for its Close to return; later ones are counted, not kept.
const maxRecordedCloseErrors = 16

// TableCache keeps open readers of up to capacity tables, reference-counted, and closes the
// least recently used unreferenced ones beyond that. See the package documentation for its
// invariants; all methods are safe for concurrent use.
type TableCache[T Table] struct {
	capacity     int
	open         func(fileNum uint64) (T, error)
	onCloseError func(fileNum uint64, err error) // nil: record for Close

	mu struct {
		sync.Mutex
		closed     bool
		entries    map[uint64]*Handle[T] // the cached tables, opening or open
		lru        Handle[T]             // sentinel of the list of cached, unreferenced tables
		open       int                   // tables opened (or opening) and not yet closed
		referenced int                   // entries with refs > 0, cached or not
		closeErrs  []error               // recorded close errors, when onCloseError is nil
		lostErrs   int                   // close errors beyond maxRecordedCloseErrors
	}

	hits, misses atomic.Uint64
}

// Handle is a reference to an open table, returned by TableCache.Acquire. It is the cache's
// entry for the table itself, shared by every holder of the table: Acquire on a hit returns
// the same pointer again and only counts one more reference, which is what makes it free of
// allocations.
type Handle[T Table] struct {
	c       *TableCache[T]
	fileNum uint64
	value   T // set before the handle is handed out; never changes after

	// Guarded by c.mu.
	refs       int
	cached     bool          // c.mu.entries[fileNum] == this handle
	opening    chan struct{} // non-nil while open runs; closed when it returns
	err        error         // the open error, valid once opening is closed
	prev, next *Handle[T]    // c.mu.lru while cached and unreferenced; next also chains closes
}

// Value returns the open table. It may be used until the matching Release.
func (h *Handle[T]) Value() T { return h.value }

// Release drops the reference that an Acquire returned. The table is closed now if the cache
// has dropped it (by Evict, Close or capacity) and this was its last reference.
//
// Every Acquire must be matched by exactly one Release. Because a Handle is shared by all
// holders of its table, an extra Release cannot be told from another holder's legitimate one
// while references remain; it is caught, with a panic, once it would take the count below
// zero (including any Release after the table was closed).
func (h *Handle[T]) Release() {
	c := h.c
	c.mu.Lock()
	if h.refs <= 0 {
		c.mu.Unlock()
		panic(fmt.Sprintf("sstable/cache: Handle.Release of table %06d called more times than Acquire", h.fileNum))
	}
	h.refs--
	if h.refs > 0 {
		c.mu.Unlock()
		return
	}
	c.mu.referenced--
	var closing *Handle[T]
	if h.cached {
		c.pushFrontLocked(h)
		closing = c.shrinkLocked()
	} else {
		c.mu.open--
		closing = h
	}
	c.mu.Unlock()
	c.closeTables(closing, false)
}

// TableCacheOption configures a TableCache.
type TableCacheOption func(*tableCacheOptions)

type tableCacheOptions struct {
	onCloseError func(fileNum uint64, err error)
}

// OnCloseError makes the cache report each error returned by a table's Close that happens
// outside TableCache.Close (on eviction, Evict or the last Release) by calling fn, for
// example to log it; fn must not call back into the cache. Without it such errors are kept
// (the first 16) and returned by TableCache.Close, and errors of tables closed after
// TableCache.Close has returned are lost.
func OnCloseError(fn func(fileNum uint64, err error)) TableCacheOption {
	return func(o *tableCacheOptions) { o.onCloseError = fn }
}

// NewTableCache returns a cache that keeps at most capacity unreferenced tables open (a
// capacity below 0 counts as 0: tables close at their last Release) and opens tables with
// open. open is called without the cache's lock held, at most once at a time per file number.
func NewTableCache[T Table](capacity int, open func(fileNum uint64) (T, error), opts ...TableCacheOption) *TableCache[T] {
	var o tableCacheOptions
	for _, opt := range opts {
		opt(&o)
	}
	if capacity < 0 {
		capacity = 0
	}
	c := &TableCache[T]{capacity: capacity, open: open, onCloseError: o.onCloseError}
	c.mu.entries = make(map[uint64]*Handle[T])
	c.mu.lru.next = &c.mu.lru
	c.mu.lru.prev = &c.mu.lru
	return c
}

// Acquire returns a handle holding a reference to table fileNum, opening it on a miss. While
// one Acquire opens a table, concurrent Acquires of the same file wait for it and share its
// result; an open error is returned to all of them as it is and is not cached, so the next
// Acquire tries again. After Close, Acquire returns an error wrapping dberr.ErrClosed. It does
// not allocate when the table is cached.
func (c *TableCache[T]) Acquire(fileNum uint64) (*Handle[T], error) {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: table cache: acquire table %06d", dberr.ErrClosed, fileNum)
	}
	if h, ok := c.mu.entries[fileNum]; ok {
		c.refLocked(h)
		opening := h.opening
		c.hits.Add(1)
		c.mu.Unlock()
		if opening != nil {
			<-opening
			if h.err != nil {
				return nil, h.err
			}
		}
		return h, nil
	}

	h := &Handle[T]{c: c, fileNum: fileNum, cached: true, opening: make(chan struct{})}
	c.mu.entries[fileNum] = h
	c.refLocked(h)
	c.mu.open++
	c.misses.Add(1)
	// The new entry may take the cache over capacity: close an idle table before opening one.
	closing := c.shrinkLocked()
	c.mu.Unlock()
	c.closeTables(closing, false)

	return c.finishOpen(h)
}

// finishOpen runs open for h, which Acquire has just put in the cache, and publishes the
// result to the Acquires waiting on h.opening. If open fails or panics, h leaves the cache,
// its waiters get the error and h is never handed out.
func (c *TableCache[T]) finishOpen(h *Handle[T]) (_ *Handle[T], err error) {
	succeeded := false
	defer func() {
		if succeeded {
			return
		}
		if err == nil { // open panicked; let the waiters fail instead of hanging
			err = fmt.Errorf("strata: open table %06d: panicked", h.fileNum)
		}
		c.mu.Lock()
		h.err = err
		ch := h.opening
		h.opening = nil
		if h.cached {
			h.cached = false
			delete(c.mu.entries, h.fileNum)
		}
		// No table to close: the waiters' references die with the handle.
		h.refs = 0
		c.mu.referenced--
		c.mu.open--
		c.mu.Unlock()
		close(ch)
	}()
	v, err := c.open(h.fileNum)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	h.value = v
	ch := h.opening
	h.opening = nil
	succeeded = true
	c.mu.Unlock()
	close(ch)
	return h, nil
}

// Evict drops table fileNum from the cache because its file is being deleted. The table is
// closed now if it is unreferenced, or else at its last Release; the next Acquire of fileNum
// opens the file anew.
func (c *TableCache[T]) Evict(fileNum uint64) {
	c.mu.Lock()
	h, ok := c.mu.entries[fileNum]
	if !ok {
		c.mu.Unlock()
		return
	}
	closing := c.dropLocked(h)
	c.mu.Unlock()
	c.closeTables(closing, false)
}

// Close drops every table from the cache. It closes the unreferenced ones now and returns
// their close errors, joined with those recorded earlier (see OnCloseError); referenced ones
// are closed at their last Release. Later Acquires fail with dberr.ErrClosed (an Acquire
// already opening its table when Close was called still returns it, uncached, to be closed at
// its Release), and a second Close returns nil.
func (c *TableCache[T]) Close() error {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.closed = true
	var closing *Handle[T]
	for _, h := range c.mu.entries {
		if h1 := c.dropLocked(h); h1 != nil {
			h1.next = closing
			closing = h1
		}
	}
	errs := c.mu.closeErrs
	if c.mu.lostErrs > 0 {
		errs = append(errs, fmt.Errorf("strata: %d more table close errors", c.mu.lostErrs))
	}
	c.mu.closeErrs, c.mu.lostErrs = nil, 0
	c.mu.Unlock()
	errs = append(errs, c.closeTables(closing, true)...)
	return errors.Join(errs...)
}

// TableCacheStats is a snapshot of a TableCache's state and counters.
type TableCacheStats struct {
	Open     int    // tables open or being opened, including dropped ones still referenced
	Cached   int    // tables in the cache (Acquire finds them without opening)
	Capacity int    // the most unreferenced tables kept open
	Hits     uint64 // Acquires served without calling open (including waits on another's open)
	Misses   uint64 // Acquires that called open
}

// Stats returns the cache's state and counters.
func (c *TableCache[T]) Stats() TableCacheStats {
	c.mu.Lock()
	st := TableCacheStats{Open: c.mu.open, Cached: len(c.mu.entries), Capacity: c.capacity}
	c.mu.Unlock()
	st.Hits = c.hits.Load()
	st.Misses = c.misses.Load()
	return st
}

// refLocked adds a reference to h, taking it off the idle list on its first.
func (c *TableCache[T]) refLocked(h *Handle[T]) {
	h.refs++
	if h.refs == 1 {
		c.mu.referenced++
		if h.prev != nil {
			c.unlinkLocked(h)
		}
	}
}

// dropLocked takes h out of the cache. If it is unreferenced it is returned for the caller to
// close once the lock is released; otherwise its last Release closes it.
func (c *TableCache[T]) dropLocked(h *Handle[T]) *Handle[T] {
	delete(c.mu.entries, h.fileNum)
	h.cached = false
	if h.refs > 0 {
		return nil
	}
	c.unlinkLocked(h)
	c.mu.open--
	return h
}

// shrinkLocked drops least recently used unreferenced tables while the cache holds more than
// capacity, and returns them chained by next for the caller to close once the lock is
// released. It stops early when every cached table is referenced.
func (c *TableCache[T]) shrinkLocked() *Handle[T] {
	var closing *Handle[T]
	for len(c.mu.entries) > c.capacity && c.mu.lru.prev != &c.mu.lru {
		h := c.dropLocked(c.mu.lru.prev)
		h.next = closing
		closing = h
	}
	return closing
}

// closeTables closes the tables chained by next. Inside Close (fromClose) it returns their
// errors; otherwise it reports them to the OnCloseError callback or records them for Close.
func (c *TableCache[T]) closeTables(h *Handle[T], fromClose bool) []error {
	var errs []error
	for h != nil {
		next := h.next
		h.next = nil
		if err := h.value.Close(); err != nil {
			err = dberr.Wrap(err, "close table %06d", h.fileNum)
			switch {
			case fromClose:
				errs = append(errs, err)
			case c.onCloseError != nil:
				c.onCloseError(h.fileNum, err)
			default:
				c.recordCloseError(err)
			}
		}
		h = next
	}
	return errs
}

func (c *TableCache[T]) recordCloseError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.mu.closed: // Close has returned; nobody is left to tell
	case len(c.mu.closeErrs) < maxRecordedCloseErrors:
		c.mu.closeErrs = append(c.mu.closeErrs, err)
	default:
		c.mu.lostErrs++
	}
}

func (c *TableCache[T]) pushFrontLocked(h *Handle[T]) {
	head := &c.mu.lru
	h.prev = head
	h.next = head.next
	head.next.prev = h
	head.next = h
}

func (c *TableCache[T]) unlinkLocked(h *Handle[T]) {
	h.prev.next = h.next
	h.next.prev = h.prev
	h.prev, h.next = nil, nil
}
