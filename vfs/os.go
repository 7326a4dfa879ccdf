package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/stratadb/strata/internal/dberr"
)

// osFS is the real filesystem. It holds no state of its own: the in-process lock table is global
// (see processLocks) because POSIX record locks belong to the process, not to one FS value.
type osFS struct{}

// NewOS returns the host filesystem.
//
// Files from Create and Open implement Mappable on Unix. Lock takes an fcntl F_SETLK write lock
// on the whole file, as C++ leveldb does, so a Strata process and a C++ leveldb process exclude
// each other; LockShared takes an F_SETLK read lock, which other readers share. On other systems
// both only exclude each other's calls in the same process.
func NewOS() FS { return osFS{} }

// Create opens name with O_RDWR|O_CREATE|O_TRUNC and mode 0644.
func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f, name: name}, nil
}

// Open opens name read-only. Write and Sync on the result fail with an error wrapping
// ErrReadOnly (an *os.File would report EBADF instead).
func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f, name: name, readOnly: true}, nil
}

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }

// List returns the names in dir sorted bytewise.
func (osFS) List(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

func (osFS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

// SyncDir opens dir and fsyncs it, which makes creations, renames and removals in it durable.
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return d.Close()
}

// Lock locks name for this process and, where the system has them, with an fcntl write lock.
//
// POSIX record locks belong to the process: a second F_SETLK from the same process on another
// descriptor succeeds (a write lock over the process's own read lock converts it), and closing
// any descriptor of the file drops all of the process's locks on it. So the path is first
// looked up in processLocks (keyed by its absolute, cleaned form): a Lock of a path this process
// already holds, exclusively or shared, fails with ErrLocked without opening the file. Opening,
// locking, unlocking and closing all happen under the table's mutex, so no descriptor of a
// locked path is ever opened or closed behind the table's back.
//
// Two spellings of one file through a symlink are different keys; Strata locks one fixed name
// (dir/LOCK), so this does not arise in practice.
func (osFS) Lock(name string) (io.Closer, error) {
	return processLocks.lock(name, false)
}

// LockShared takes a shared lock on name: an fcntl read lock (F_RDLCK) where the system has
// them, which any number of processes may hold at once and which excludes, both ways, the write
// lock of Lock and of C++ leveldb. In this process, shared holders of one path share one
// descriptor, counted in processLocks: the last Close unlocks and closes it. A LockShared while
// this process holds the path exclusively fails with ErrLocked, as does a Lock while it holds it
// shared, without opening a second descriptor.
//
// The file is opened read-only, so a shared lock works in a directory the process may not
// write. When the file is missing, LockShared creates it (empty, mode 0644) if it can; when it
// cannot (a read-only directory or filesystem), the error matches both os.ErrNotExist and the
// cause (fs.ErrPermission, say), since nothing can be locked and no writer could create the file
// either. A DB directory always holds LOCK, so this only arises for a directory that is not one.
func (osFS) LockShared(name string) (io.Closer, error) {
	return processLocks.lock(name, true)
}

// lockError reports a failed Lock of name: "lock NAME: CAUSE", without repeating the path an
// *os.PathError from opening the file already holds.
// The cause (an errno, ErrLocked) still matches with errors.Is.
func lockError(name string, err error) error {
	if pe, ok := err.(*os.PathError); ok && pe.Path == name {
		err = pe.Err
	}
	return fmt.Errorf("lock %s: %w", name, err)
}

// lockTable is the set of paths this process holds locks on, with their descriptors.
type lockTable struct {
	mu   sync.Mutex
	held map[string]*lockEntry
}

// lockEntry is one locked path: an exclusive lock (shared == 0) or shared holders that share f.
type lockEntry struct {
	f      *os.File
	shared int // the shared holders not yet closed; 0 for an exclusive lock
}

// processLocks is shared by every FS from NewOS, because fcntl locks are per process.
var processLocks = lockTable{held: make(map[string]*lockEntry)}

// lock takes the lock on name: shared (a reader) or exclusive.
func (t *lockTable) lock(name string, shared bool) (io.Closer, error) {
	key, err := filepath.Abs(name)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.held[key]; ok {
		switch {
		case e.shared == 0:
			return nil, dberr.Mark(ErrLocked, "lock %s: held by another DB in this process", name)
		case !shared:
			return nil, dberr.Mark(ErrLocked, "lock %s: held shared by %d reader(s) in this process", name, e.shared)
		}
		e.shared++
		return &osLock{key: key, e: e}, nil
	}
	var f *os.File
	if shared {
		f, err = openShared(name)
	} else {
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, lockError(name, err)
	}
	lock := lockFile
	if shared {
		lock = lockFileShared
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, lockError(name, err)
	}
	e := &lockEntry{f: f}
	if shared {
		e.shared = 1
	}
	t.held[key] = e
	return &osLock{key: key, e: e}, nil
}

// openShared opens name read-only for a shared lock, creating it if it is missing and the
// directory allows; see LockShared.
func openShared(name string) (*os.File, error) {
	f, err := os.Open(name)
	if !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	f, err = os.OpenFile(name, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		cause := err
		if pe, ok := err.(*os.PathError); ok {
			cause = pe.Err
		}
		return nil, dberr.Mark(errors.Join(os.ErrNotExist, err),
			"missing, and cannot be created for a shared lock: %v", cause)
	}
	return f, nil
}

// release drops one holder of e: the exclusive one, or one of the shared ones. The last one
// unlocks and closes the descriptor and removes the path from the table.
func (t *lockTable) release(key string, e *lockEntry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.shared > 1 {
		e.shared--
		return nil
	}
	err := unlockFile(e.f)
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	delete(t.held, key)
	return err
}

// osLock is a held lock, exclusive or shared. Close releases it once; later calls return nil.
type osLock struct {
	once sync.Once
	key  string
	e    *lockEntry
	err  error
}

func (l *osLock) Close() error {
	l.once.Do(func() { l.err = processLocks.release(l.key, l.e) })
	return l.err
}

// osFile is an *os.File that knows whether it was opened read-only, so that Write and Sync on it
// fail with ErrReadOnly. On Unix it also implements Mappable (os_unix.go).
type osFile struct {
	f        *os.File
	name     string
	readOnly bool
}

func (f *osFile) Read(p []byte) (int, error) { return f.f.Read(p) }

func (f *osFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

func (f *osFile) Write(p []byte) (int, error) {
	if f.readOnly {
		return 0, fmt.Errorf("write %s: %w", f.name, ErrReadOnly)
	}
	return f.f.Write(p)
}

func (f *osFile) Sync() error {
	if f.readOnly {
		return fmt.Errorf("sync %s: %w", f.name, ErrReadOnly)
	}
	return f.f.Sync()
}

// Close closes the file. A second Close returns an error wrapping os.ErrClosed.
func (f *osFile) Close() error { return f.f.Close() }

func (f *osFile) Stat() (os.FileInfo, error) { return f.f.Stat() }
