package vfs

import (
	"fmt"
	"sync"
)

// MemFS files implement Preallocatable, so that code writing through a mapping runs on MemFS in
// tests: Allocate extends the file with zeros, a region's Store is a write at its offset (the
// bytes are current bytes of the file at once, as a store into a shared mapping is in the page
// cache), and SyncData is Sync. Allocated bytes follow the crash model like written ones: they
// survive a power loss only once synced.

var _ Preallocatable = (*memFile)(nil)

// Allocate extends the file with zero bytes to size; a longer file is left alone.
func (f *memFile) Allocate(size int64) error { return f.resize("allocate", size, (*memNode).extend) }

// MapWritable returns a region whose stores write the file in place. huge is ignored.
func (f *memFile) MapWritable(size int, huge bool) (WritableRegion, error) {
	if err := f.writable("map"); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("map %s: size %d", f.name, size)
	}
	if cur := f.n.size(); int64(size) > cur {
		return nil, fmt.Errorf("map %s: size %d exceeds file length %d", f.name, size, cur)
	}
	return &memRegion{f: f, size: size}, nil
}

// Truncate sets the file's current length; like every change it is durable only after Sync.
func (f *memFile) Truncate(size int64) error {
	return f.resize("truncate", size, (*memNode).truncateTo)
}

// resize fails op on a read-only or closed handle or a negative size, or applies set to the file.
func (f *memFile) resize(op string, size int64, set func(*memNode, int64)) error {
	if err := f.writable(op); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%s %s: negative size %d", op, f.name, size)
	}
	set(f.n, size)
	return nil
}

// WriteAt writes p at off, zero-filling any gap past the end.
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.writable("write"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("write %s: negative offset %d", f.name, off)
	}
	f.n.writeAt(p, off)
	return len(p), nil
}

// SyncData is Sync: MemFS has no metadata apart from the bytes.
func (f *memFile) SyncData() error { return f.Sync() }

// writable fails op on a read-only or closed handle.
func (f *memFile) writable(op string) error {
	if f.readOnly {
		return fmt.Errorf("%s %s: %w", op, f.name, ErrReadOnly)
	}
	if f.closed.Load() {
		return f.errClosed(op)
	}
	return nil
}

// memRegion is a MemFS file's writable mapping of its first size bytes.
type memRegion struct {
	f      *memFile
	size   int
	mu     sync.Mutex
	closed bool
}

// Store writes p at off: p[StoreLastBytes:] first, then the rest (see WritableRegion). Bytes
// past the file's current end (cut short under the mapping) fail the store, as SIGBUS would.
func (r *memRegion) Store(off int, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("store to %s: region closed", r.f.name)
	}
	if off < 0 || off+len(p) > r.size {
		return fmt.Errorf("store of %d bytes at offset %d of %s: outside the %d-byte mapping", len(p), off, r.f.name, r.size)
	}
	if end := int64(off + len(p)); end > r.f.n.size() {
		return fmt.Errorf("store of %d bytes at offset %d of %s: %w", len(p), off, r.f.name, ErrMappedFault)
	}
	if len(p) > StoreLastBytes {
		r.f.n.writeAt(p[StoreLastBytes:], int64(off+StoreLastBytes))
		p = p[:StoreLastBytes]
	}
	r.f.n.writeAt(p, int64(off))
	return nil
}

// Release does nothing: MemFS keeps the bytes in the file either way.
func (r *memRegion) Release(off, n int) {}

func (r *memRegion) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// size returns the node's current length.
func (n *memNode) size() int64 {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return int64(len(n.data))
}

// extend grows the current bytes with zeros to size.
func (n *memNode) extend(size int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if size > int64(len(n.data)) {
		// Appending past len(syncedData) never touches bytes it shares (see sync).
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
}

// truncateTo sets the current length to size, cutting or zero-extending.
func (n *memNode) truncateTo(size int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if size >= int64(len(n.data)) {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
		return
	}
	// Cut the capacity too, so that a later append copies instead of writing into bytes that
	// syncedData may share.
	n.data = n.data[:size:size]
}
