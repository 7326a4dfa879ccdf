//go:build linux

package vfs

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"syscall"
	"unsafe"
)

// On Linux, OS files also implement Preallocatable: fallocate(2) reserves space, a MAP_SHARED
// mapping takes the writes, and fdatasync(2) makes them durable.

var _ Preallocatable = (*osFile)(nil)

// control runs fn with the file's descriptor.
func (f *osFile) control(op string, fn func(fd int) error) error {
	rc, err := f.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, f.name, err)
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = fn(int(fd)) }); err != nil {
		return fmt.Errorf("%s %s: %w", op, f.name, err)
	}
	if opErr != nil {
		return fmt.Errorf("%s %s: %w", op, f.name, opErr)
	}
	return nil
}

// Allocate calls fallocate(2) with mode 0 over [0, size): holes get blocks, the length grows to
// size if it was shorter, and the new bytes read as zero. A filesystem without fallocate
// returns an error wrapping syscall.EOPNOTSUPP.
func (f *osFile) Allocate(size int64) error {
	if f.readOnly {
		return fmt.Errorf("allocate %s: %w", f.name, ErrReadOnly)
	}
	return f.control("allocate", func(fd int) error {
		for {
			err := syscall.Fallocate(fd, 0, 0, size)
			if err != syscall.EINTR {
				return err
			}
		}
	})
}

// MapWritable maps [0, size) with PROT_READ|PROT_WRITE and MAP_SHARED. With huge it asks for
// transparent huge pages (madvise MADV_HUGEPAGE), which the kernel grants for files on some
// filesystems (ext4 since Linux 6.16, tmpfs mounted with huge=): one page fault per 2 MiB
// instead of per 4 KiB. A failed madvise is ignored: the mapping works with small pages.
func (f *osFile) MapWritable(size int, huge bool) (WritableRegion, error) {
	if f.readOnly {
		return nil, fmt.Errorf("map %s: %w", f.name, ErrReadOnly)
	}
	if size <= 0 {
		return nil, fmt.Errorf("map %s: size %d", f.name, size)
	}
	fi, err := f.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.name, err)
	}
	if int64(size) > fi.Size() {
		return nil, fmt.Errorf("map %s: size %d exceeds file length %d", f.name, size, fi.Size())
	}
	var data []byte
	err = f.control("map", func(fd int) (err error) {
		data, err = syscall.Mmap(fd, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		return err
	})
	if err != nil {
		return nil, err
	}
	if huge {
		_ = syscall.Madvise(data, syscall.MADV_HUGEPAGE)
	}
	return &writableRegion{name: f.name, mmapRegion: mmapRegion{data: data}}, nil
}

// Truncate sets the file's length with ftruncate(2).
func (f *osFile) Truncate(size int64) error {
	if f.readOnly {
		return fmt.Errorf("truncate %s: %w", f.name, ErrReadOnly)
	}
	if err := f.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s: %w", f.name, err)
	}
	return nil
}

// WriteAt writes p at off with pwrite(2).
func (f *osFile) WriteAt(p []byte, off int64) (int, error) {
	if f.readOnly {
		return 0, fmt.Errorf("write %s: %w", f.name, ErrReadOnly)
	}
	return f.f.WriteAt(p, off)
}

// SyncData calls fdatasync(2).
func (f *osFile) SyncData() error {
	if f.readOnly {
		return fmt.Errorf("sync %s: %w", f.name, ErrReadOnly)
	}
	return f.control("sync", func(fd int) error {
		for {
			err := syscall.Fdatasync(fd)
			if err != syscall.EINTR {
				return err
			}
		}
	})
}

// writableRegion is a mapping made by osFile.MapWritable. One goroutine stores into it at a
// time; Close may come from another once stores have stopped.
type writableRegion struct {
	name string
	mmapRegion
}

// Store copies p into the mapping at off, p[StoreLastBytes:] first, then p's first bytes in one
// 8-byte store (see WritableRegion). A memory fault during the copy becomes an error: the
// goroutine runs with debug.SetPanicOnFault while it copies.
func (r *writableRegion) Store(off int, p []byte) (err error) {
	if off < 0 || off+len(p) > len(r.data) {
		return fmt.Errorf("store of %d bytes at offset %d of %s: outside the %d-byte mapping", len(p), off, r.name, len(r.data))
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			if _, ok := e.(interface{ Addr() uintptr }); !ok {
				panic(e)
			}
			err = fmt.Errorf("store of %d bytes at offset %d of %s: %w: %w", len(p), off, r.name, ErrMappedFault, syscall.EIO)
		}
	}()
	dst := r.data[off:]
	if len(dst) < StoreLastBytes {
		copy(dst, p)
		return nil
	}
	if len(p) > StoreLastBytes {
		copy(dst[StoreLastBytes:], p[StoreLastBytes:])
	}
	var head [StoreLastBytes]byte
	copy(head[:], dst[:StoreLastBytes]) // the bytes past a short p keep their value
	copy(head[:], p)
	// One store (one MOV on 64-bit platforms): a thread stopped by a signal has done all of it or
	// none of it.
	*(*uint64)(unsafe.Pointer(&dst[0])) = binary.NativeEndian.Uint64(head[:])
	return nil
}

// Release drops the pages of [off, off+n) from the process's mappings (madvise MADV_DONTNEED,
// which for a shared file mapping unmaps them and keeps their contents in the page cache).
func (r *writableRegion) Release(off, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off >= 0 && n > 0 && off+n <= len(r.data) {
		_ = syscall.Madvise(r.data[off:off+n], syscall.MADV_DONTNEED)
	}
}

func (r *writableRegion) Close() error {
	if err := r.mmapRegion.Close(); err != nil {
		return fmt.Errorf("unmap %s: %w", r.name, err)
	}
	return nil
}
