//go:build unix

package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/stratadb/strata/internal/dberr"
)

// lockFile takes an fcntl F_SETLK write lock on all of f (start 0, length 0 = to the end of the
// file and beyond), the same lock C++ leveldb takes on its LOCK file. It does not wait: when
// another process holds a conflicting lock the error wraps ErrLocked and the errno.
func lockFile(f *os.File) error {
	return setLock(f, syscall.F_WRLCK)
}

// lockFileShared takes an fcntl F_SETLK read lock on all of f, which f must be open for
// reading. Any number of processes may hold one at once; it conflicts with a write lock held by
// another process (lockFile's, or C++ leveldb's), and the error then wraps ErrLocked and the
// errno. (Against this process's own write lock F_SETLK would convert instead of failing; the
// in-process table keeps that from happening.)
func lockFileShared(f *os.File) error {
	return setLock(f, syscall.F_RDLCK)
}

// unlockFile releases the lock taken by lockFile or lockFileShared.
func unlockFile(f *os.File) error {
	return setLock(f, syscall.F_UNLCK)
}

func setLock(f *os.File, typ int16) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	spec := syscall.Flock_t{Type: typ, Whence: io.SeekStart, Start: 0, Len: 0}
	var lockErr error
	if err := rc.Control(func(fd uintptr) {
		lockErr = syscall.FcntlFlock(fd, syscall.F_SETLK, &spec)
	}); err != nil {
		return err
	}
	// POSIX allows either EAGAIN or EACCES for "held by another process".
	if errors.Is(lockErr, syscall.EAGAIN) || errors.Is(lockErr, syscall.EACCES) {
		return dberr.Mark(errors.Join(ErrLocked, lockErr), "held by another process")
	}
	return lockErr
}

// Map maps the first size bytes of the file with PROT_READ and MAP_SHARED. size must not exceed
// the file's current length (touching a mapped page past the end of a file raises SIGBUS, so
// Map refuses instead). size 0 returns an empty Region without calling mmap. The mapping holds
// its own reference to the file and stays valid after Close.
func (f *osFile) Map(size int) (Region, error) {
	if size < 0 {
		return nil, fmt.Errorf("map %s: negative size %d", f.name, size)
	}
	if size == 0 {
		return &mmapRegion{}, nil
	}
	fi, err := f.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.name, err)
	}
	if int64(size) > fi.Size() {
		return nil, fmt.Errorf("map %s: size %d exceeds file length %d", f.name, size, fi.Size())
	}
	rc, err := f.f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.name, err)
	}
	var data []byte
	var mapErr error
	if err := rc.Control(func(fd uintptr) {
		data, mapErr = syscall.Mmap(int(fd), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	}); err != nil {
		return nil, fmt.Errorf("map %s: %w", f.name, err)
	}
	if mapErr != nil {
		return nil, fmt.Errorf("map %s: %w", f.name, mapErr)
	}
	return &mmapRegion{data: data}, nil
}

// mmapRegion is a mapping made by osFile.Map. Close unmaps it once; later calls return nil.
type mmapRegion struct {
	mu   sync.Mutex
	data []byte
}

func (r *mmapRegion) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.data
}

func (r *mmapRegion) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.data == nil {
		return nil
	}
	err := syscall.Munmap(r.data)
	r.data = nil
	return err
}
