package vfs

import (
	"fmt"
	"io"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"
)

// memFile is an open handle on a MemFS file node. Like a POSIX descriptor it has one offset,
// shared by Read and Write, that starts at 0; ReadAt ignores it. The node may be renamed or
// removed while the handle is open: the handle keeps reading and writing the node.
type memFile struct {
	n        *memNode
	name     string // as given to Create or Open, for errors
	readOnly bool
	closed   atomic.Bool

	mu  sync.Mutex // guards off
	off int64
}

func newMemFile(n *memNode, name string, readOnly bool) *memFile {
	return &memFile{n: n, name: name, readOnly: readOnly}
}

func (f *memFile) errClosed(op string) error {
	return &os.PathError{Op: op, Path: f.name, Err: os.ErrClosed}
}

// Read reads from the handle's offset and advances it.
func (f *memFile) Read(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, f.errClosed("read")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.n.readAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil // io.Reader: a short read that delivered bytes need not report EOF yet
	}
	return n, err
}

// ReadAt reads at off without touching the handle's offset. It is safe to call concurrently.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed.Load() {
		return 0, f.errClosed("read")
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: fmt.Errorf("negative offset %d", off)}
	}
	return f.n.readAt(p, off)
}

// Write writes p at the handle's offset (the end of the file, unless another handle truncated or
// shortened it) and advances the offset. It writes all of p or, on error, nothing.
func (f *memFile) Write(p []byte) (int, error) {
	if f.readOnly {
		return 0, fmt.Errorf("write %s: %w", f.name, ErrReadOnly)
	}
	if f.closed.Load() {
		return 0, f.errClosed("write")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n.writeAt(p, f.off)
	f.off += int64(len(p))
	return len(p), nil
}

// Sync makes the file's current bytes its synced bytes: what a crash keeps of it.
func (f *memFile) Sync() error {
	if f.readOnly {
		return fmt.Errorf("sync %s: %w", f.name, ErrReadOnly)
	}
	if f.closed.Load() {
		return f.errClosed("sync")
	}
	f.n.sync()
	return nil
}

// Close closes the handle. A second Close returns an error wrapping os.ErrClosed, as os.File does.
func (f *memFile) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return f.errClosed("close")
	}
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	if f.closed.Load() {
		return nil, f.errClosed("stat")
	}
	return f.n.info(path.Base(cleanPath(f.name))), nil
}

// readAt copies the node's current bytes at off into p, with io.ReaderAt's contract: fewer than
// len(p) bytes come with io.EOF.
func (n *memNode) readAt(p []byte, off int64) (int, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if off >= int64(len(n.data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	c := copy(p, n.data[off:])
	if c < len(p) {
		return c, io.EOF
	}
	return c, nil
}

// writeAt stores p at off, zero-filling any gap past the end (left when another handle
// truncated the file under this one).
func (n *memNode) writeAt(p []byte, off int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	size := int64(len(n.data))
	if off < size && n.shared {
		// p overwrites bytes that syncedData or a crash clone may share: copy first.
		fresh := make([]byte, size, max(size, off+int64(len(p))))
		copy(fresh, n.data)
		n.data = fresh
		n.shared = false
	}
	if off > size {
		n.data = append(n.data, make([]byte, off-size)...)
	}
	if end := off + int64(len(p)); end > int64(len(n.data)) {
		n.data = append(n.data[:off], p...)
	} else {
		copy(n.data[off:end], p)
	}
}

// truncate empties the file's current bytes; its synced bytes stay until the next Sync.
func (n *memNode) truncate() {
	n.mu.Lock()
	n.data = nil
	n.shared = false
	n.mu.Unlock()
}

// sync records the current bytes as synced without copying them: the capacity cut keeps later
// appends out of syncedData, and shared makes the next in-place overwrite copy.
func (n *memNode) sync() {
	n.mu.Lock()
	n.syncedData = n.data[:len(n.data):len(n.data)]
	n.shared = true
	n.mu.Unlock()
}

// info describes the node under the given base name. Callers need not hold n.mu.
func (n *memNode) info(name string) os.FileInfo {
	fi := &memFileInfo{name: name, mode: n.perm}
	if n.isDir {
		fi.mode |= os.ModeDir
		return fi
	}
	n.mu.RLock()
	fi.size = int64(len(n.data))
	n.mu.RUnlock()
	return fi
}

// memModTime is the modification time of every MemFS file: MemFS keeps no clock, so tests that
// compare FileInfos stay deterministic.
var memModTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// memFileInfo implements os.FileInfo for MemFS.
type memFileInfo struct {
	name string
	size int64
	mode os.FileMode
}

func (fi *memFileInfo) Name() string       { return fi.name }
func (fi *memFileInfo) Size() int64        { return fi.size }
func (fi *memFileInfo) Mode() os.FileMode  { return fi.mode }
func (fi *memFileInfo) ModTime() time.Time { return memModTime }
func (fi *memFileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *memFileInfo) Sys() any           { return nil }
