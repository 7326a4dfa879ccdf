package vfs

import (
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
// each other; on other systems Lock only excludes other Lock calls in the same process.
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
// descriptor succeeds, and closing any descriptor of the file drops the lock. So the path is
// first claimed in processLocks (keyed by its absolute, cleaned form), and a second Lock of the
// same path in this process fails with ErrLocked without touching the file. The claim is given
// up only after the descriptor is closed, so a later Lock cannot open a descriptor that the
// earlier holder's close would then unlock.
//
// Two spellings of one file through a symlink are different keys; Strata locks one fixed name
// (dir/LOCK), so this does not arise in practice.
func (osFS) Lock(name string) (io.Closer, error) {
	key, err := filepath.Abs(name)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if !processLocks.claim(key) {
		return nil, dberr.Mark(ErrLocked, "lock %s: held by another DB in this process", name)
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		processLocks.release(key)
		return nil, lockError(name, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		processLocks.release(key)
		return nil, lockError(name, err)
	}
	return &osLock{f: f, key: key}, nil
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

// osLock is a held lock. Close releases it once; later calls return nil.
type osLock struct {
	once sync.Once
	f    *os.File
	key  string
	err  error
}

func (l *osLock) Close() error {
	l.once.Do(func() {
		l.err = unlockFile(l.f)
		if err := l.f.Close(); l.err == nil {
			l.err = err
		}
		processLocks.release(l.key)
	})
	return l.err
}

// lockTable is the set of paths this process holds locks on.
type lockTable struct {
	mu   sync.Mutex
	held map[string]struct{}
}

// processLocks is shared by every FS from NewOS, because fcntl locks are per process.
var processLocks = lockTable{held: make(map[string]struct{})}

// claim records key as held and reports whether it was free.
func (t *lockTable) claim(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.held[key]; ok {
		return false
	}
	t.held[key] = struct{}{}
	return true
}

func (t *lockTable) release(key string) {
	t.mu.Lock()
	delete(t.held, key)
	t.mu.Unlock()
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
