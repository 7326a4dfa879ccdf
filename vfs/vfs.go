// Package vfs is the filesystem seam: every file Strata reads or writes goes through an FS.
//
// Two implementations exist. OS (NewOS) is the real filesystem, with fsync, directory sync, mmap
// and fcntl locks (the same F_SETLK lock C++ leveldb takes, so the two exclude each other). MemFS
// (NewMem) keeps files in memory and models what survives a power loss: a file's bytes survive
// only up to its last Sync, and a directory entry (create, rename, remove, a directory made by
// MkdirAll) survives only once its directory has been synced with SyncDir; CrashClone returns the
// state a machine would come back to (the full model is on MemFS). WithFaults wraps any FS and
// fails chosen operations (OnNth, OnPath, or any Injector; Counter counts them first), so crash
// and I/O-error tests need no real crashes.
//
// Invariants: every implementation passes the same conformance test; methods of FS are safe for
// concurrent use; a File may be read concurrently with ReadAt, but writes to one File come from
// one goroutine at a time. Errors for a missing file match os.ErrNotExist with errors.Is.
package vfs

import (
	"errors"
	"io"
	"os"
)

// File is an open file. Files from Create are readable and writable; files from Open are
// read-only and fail Write and Sync with an error wrapping ErrReadOnly. Read and Write share one
// offset, which starts at 0. After Close, every method fails with an error wrapping os.ErrClosed
// (so does a second Close).
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the file's contents durable (fsync).
	Sync() error
	// Stat describes the file; Size is its current length.
	Stat() (os.FileInfo, error)
}

// FS is a filesystem. Names are paths in the host's syntax (path/filepath).
type FS interface {
	// Create creates the named file, truncating it if it exists, opened for reading and writing.
	// The new directory entry is durable only after SyncDir of its directory.
	Create(name string) (File, error)
	// Open opens the named file read-only.
	Open(name string) (File, error)
	// Remove removes the named file or empty directory.
	Remove(name string) error
	// Rename renames oldname to newname, replacing newname atomically if it exists.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// Stat describes the named file or directory.
	Stat(name string) (os.FileInfo, error)
	// Lock takes an exclusive advisory lock on the named file, creating it if needed. It fails,
	// without blocking, while another holder (another process, or another Lock call in this
	// process) has it; the error then wraps ErrLocked and names the path. Closing the returned
	// Closer releases the lock; closing it again does nothing.
	Lock(name string) (io.Closer, error)
	// LockShared takes a shared (read) advisory lock on the named file. Any number of shared
	// holders, in this process and in others, may hold it at once; a shared lock and an
	// exclusive Lock exclude each other both ways, in this process and (on OS, where the system
	// has fcntl locks) across processes, C++ leveldb included. It fails without blocking, with an
	// error that wraps ErrLocked and names the path. It creates the file when it is missing and
	// can be created; when it cannot (a read-only directory), the error matches os.ErrNotExist.
	// Closing the returned Closer releases this holder's share; closing it again does nothing.
	LockShared(name string) (io.Closer, error)
	// SyncDir makes the directory's entries durable: files created, renamed or removed in it.
	SyncDir(dir string) error
}

// Mappable is implemented by files whose contents can be mapped read-only into memory: OS files
// on Unix. MemFS files do not implement it; readers fall back to ReadAt.
type Mappable interface {
	// Map maps the first size bytes of the file read-only; size must not exceed the file's
	// length, and size 0 gives an empty Region. The Region stays valid until it is closed, even
	// after the File is closed.
	Map(size int) (Region, error)
}

// Region is a read-only memory mapping.
type Region interface {
	// Bytes returns the mapped bytes. They must not be written and must not be used after Close.
	Bytes() []byte
	// Close unmaps the region. Closing it again does nothing and returns nil.
	Close() error
}

// Preallocatable is implemented by files that can reserve space ahead of their writes and be
// written through a shared, writable memory mapping: OS files on Linux, and MemFS files, which
// model it. NewAppender uses it to write logs without a system call per append.
type Preallocatable interface {
	// Allocate makes the file at least size bytes long, the new bytes zero, with the disk space
	// for them reserved, so that a full disk fails here rather than on a later store through a
	// mapping. It never shortens the file.
	Allocate(size int64) error
	// MapWritable maps bytes [0, size) of the file for reading and writing, shared with every
	// other user of the file; size must not exceed the file's length. huge asks for huge pages
	// where the system can back a file mapping with them (fewer page faults, but a sync then
	// writes back whole huge pages).
	MapWritable(size int, huge bool) (WritableRegion, error)
	// Truncate sets the file's length to size.
	Truncate(size int64) error
	// WriteAt writes p at offset off, like pwrite(2).
	WriteAt(p []byte, off int64) (int, error)
	// SyncData makes the file's bytes durable, with the metadata needed to read them back (its
	// length) but not its timestamps, like fdatasync(2).
	SyncData() error
}

// WritableRegion is a shared, writable mapping made by Preallocatable.MapWritable.
type WritableRegion interface {
	// Store copies p into the file at off, which with len(p) must lie inside the region. When it
	// returns, the bytes are in the file for every reader, and for a process that opens it
	// after this one was killed; they are durable only after a sync. When the region extends
	// StoreLastBytes bytes past off, the first min(len(p), StoreLastBytes) bytes of p become
	// visible last, in one store, so a process killed during Store leaves them as they were
	// (zero, for space never written). Store returns an error, never a fault signal, when the
	// memory behind the mapping is gone (the file was cut short under it); p may then be partly
	// stored.
	Store(off int, p []byte) error
	// Release tells the system that the region's bytes [off, off+n) will not be touched again
	// through this mapping, so their pages need not stay mapped (they stay in the file, and in
	// the page cache until written back): the process's resident memory then does not grow with
	// everything it ever wrote. off and n should be multiples of 2 MiB. It is only advice.
	Release(off, n int)
	// Close unmaps the region. Closing it again does nothing and returns nil.
	Close() error
}

// StoreLastBytes is the number of leading bytes that WritableRegion.Store makes visible last, in
// one store.
const StoreLastBytes = 8

// ErrLocked is matched by the error of a Lock whose lock is held elsewhere. That error names the
// path and says by whom in words of its own ("lock /db/LOCK: held by another process"), so
// ErrLocked's message appears only when it is printed alone.
var ErrLocked = errors.New("strata: locked by another process or DB")

// ErrReadOnly is returned, wrapped with the operation and the file, by Write and Sync on a file
// opened with Open.
var ErrReadOnly = errors.New("file opened read-only")

// ErrMappedFault is matched by the error WritableRegion.Store returns, instead of a SIGBUS, when
// the memory behind the mapping is gone: the file was cut short under it, or the filesystem
// could not allocate a page.
var ErrMappedFault = errors.New("memory fault writing through the mapping (was the file truncated, or the disk full?)")
