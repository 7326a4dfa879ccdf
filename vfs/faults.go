package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Op names an operation that WithFaults lets an Injector fail.
type Op uint8

// The operations, one per method of FS and File. OpRead covers Read and ReadAt; OpStat covers
// FS.Stat and File.Stat; OpMap is Mappable.Map and Preallocatable.MapWritable; OpWrite also
// covers WritableRegion.Store; OpSync also covers Preallocatable.SyncData; OpAllocate and
// OpTruncate are Preallocatable's; OpLockShared is FS.LockShared (OpLock is FS.Lock alone);
// OpLink is Linker.Link, whose Injector path is the new name. Closing a lock or a Region is not
// an Op.
const (
	OpCreate Op = iota
	OpOpen
	OpRead
	OpWrite
	OpSync
	OpClose
	OpRemove
	OpRename
	OpMkdir
	OpList
	OpStat
	OpLock
	OpSyncDir
	OpMap
	OpAllocate
	OpTruncate
	OpLockShared
	OpLink
	numOps
)

var opNames = [numOps]string{
	OpCreate: "create", OpOpen: "open", OpRead: "read", OpWrite: "write", OpSync: "sync",
	OpClose: "close", OpRemove: "remove", OpRename: "rename", OpMkdir: "mkdir", OpList: "list",
	OpStat: "stat", OpLock: "lock", OpSyncDir: "syncdir", OpMap: "map", OpAllocate: "allocate",
	OpTruncate: "truncate", OpLockShared: "lockshared", OpLink: "link",
}

// String returns the operation's lower-case name ("create", "write", "syncdir", ...).
func (op Op) String() string {
	if op < numOps {
		return opNames[op]
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// Injector decides which operations fail. WithFaults calls MaybeError before every operation,
// with the path the operation is about (for a File method, the name the file was opened with;
// for Rename, oldname). A nil result lets the operation run; a non-nil one is returned instead,
// wrapped with the op and the path, and the operation is not done (but see File.Close and
// PartialWriteError below). MaybeError may be called from many goroutines at once.
type Injector interface {
	MaybeError(op Op, path string) error
}

// InjectorFunc adapts a function to an Injector.
type InjectorFunc func(op Op, path string) error

// MaybeError calls f(op, path).
func (f InjectorFunc) MaybeError(op Op, path string) error { return f(op, path) }

// PartialWriteError, returned by an Injector for OpWrite, makes the write store the first N bytes
// of its buffer (all of it if shorter) before failing with Err: a torn write. Write then returns
// N (or len(p)) and an error that wraps both the *PartialWriteError and Err. For any other op it
// is an ordinary error.
type PartialWriteError struct {
	N   int
	Err error
}

func (e *PartialWriteError) Error() string {
	return fmt.Sprintf("partial write of %d bytes: %v", e.N, e.Err)
}

func (e *PartialWriteError) Unwrap() error { return e.Err }

// WithFaults wraps fs so that inj is consulted before every operation on it and on the files it
// opens. A nil inj never fails. Errors returned by inj come back as
// "injected OP PATH: ERR", wrapping ERR, so errors.Is(err, ErrInjected) or
// errors.Is(err, syscall.ENOSPC) see through it.
//
// Files keep the shape of the inner files: a wrapped file implements Mappable, and
// Preallocatable, exactly when the inner file does. The lock Closer and read-only Regions are
// passed through unwrapped; a WritableRegion is wrapped so that its Stores are OpWrites (a
// PartialWriteError stores a prefix of the bytes, as a fault in the middle of a copy would).
//
// One exception to "not done": when Close is failed, the inner file is still closed (close(2)
// releases the descriptor even when it reports an error), so failing Close leaks nothing.
func WithFaults(fs FS, inj Injector) FS {
	if inj == nil {
		inj = InjectorFunc(func(Op, string) error { return nil })
	}
	return &faultFS{fs: fs, inj: inj}
}

type faultFS struct {
	fs  FS
	inj Injector
}

// check asks inj about op on path and wraps its answer.
func check(inj Injector, op Op, path string) error {
	if err := inj.MaybeError(op, path); err != nil {
		return fmt.Errorf("injected %s %s: %w", op, path, err)
	}
	return nil
}

func (fs *faultFS) wrap(f File, name string) File {
	ff := &faultFile{f: f, name: name, inj: fs.inj}
	m, mappable := f.(Mappable)
	p, prealloc := f.(Preallocatable)
	switch {
	case mappable && prealloc:
		return &faultMapPreFile{faultMappableFile{ff, m}, faultPrealloc{ff, p}}
	case mappable:
		return &faultMappableFile{faultFile: ff, m: m}
	case prealloc:
		return &faultPreFile{ff, faultPrealloc{ff, p}}
	}
	return ff
}

func (fs *faultFS) Create(name string) (File, error) { return fs.open(OpCreate, name, fs.fs.Create) }

func (fs *faultFS) Open(name string) (File, error) { return fs.open(OpOpen, name, fs.fs.Open) }

// open injects op's fault for name, or opens name with open (the inner FS's Create or Open) and
// wraps the file.
func (fs *faultFS) open(op Op, name string, open func(string) (File, error)) (File, error) {
	if err := check(fs.inj, op, name); err != nil {
		return nil, err
	}
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name), nil
}

func (fs *faultFS) Remove(name string) error {
	if err := check(fs.inj, OpRemove, name); err != nil {
		return err
	}
	return fs.fs.Remove(name)
}

func (fs *faultFS) Rename(oldname, newname string) error {
	if err := check(fs.inj, OpRename, oldname); err != nil {
		return err
	}
	return fs.fs.Rename(oldname, newname)
}

func (fs *faultFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := check(fs.inj, OpMkdir, dir); err != nil {
		return err
	}
	return fs.fs.MkdirAll(dir, perm)
}

func (fs *faultFS) List(dir string) ([]string, error) {
	if err := check(fs.inj, OpList, dir); err != nil {
		return nil, err
	}
	return fs.fs.List(dir)
}

func (fs *faultFS) Stat(name string) (os.FileInfo, error) {
	if err := check(fs.inj, OpStat, name); err != nil {
		return nil, err
	}
	return fs.fs.Stat(name)
}

func (fs *faultFS) Lock(name string) (io.Closer, error) {
	if err := check(fs.inj, OpLock, name); err != nil {
		return nil, err
	}
	return fs.fs.Lock(name)
}

func (fs *faultFS) LockShared(name string) (io.Closer, error) {
	if err := check(fs.inj, OpLockShared, name); err != nil {
		return nil, err
	}
	return fs.fs.LockShared(name)
}

func (fs *faultFS) SyncDir(dir string) error {
	if err := check(fs.inj, OpSyncDir, dir); err != nil {
		return err
	}
	return fs.fs.SyncDir(dir)
}

// faultFile consults the injector before each method of the inner File.
type faultFile struct {
	f    File
	name string
	inj  Injector
}

func (f *faultFile) Read(p []byte) (int, error) {
	if err := check(f.inj, OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.Read(p)
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := check(f.inj, OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

// Write writes nothing when the injector fails it, or a prefix for a PartialWriteError.
func (f *faultFile) Write(p []byte) (int, error) {
	err := check(f.inj, OpWrite, f.name)
	if err == nil {
		return f.f.Write(p)
	}
	var pw *PartialWriteError
	if !errors.As(err, &pw) {
		return 0, err
	}
	n, werr := f.f.Write(p[:min(max(pw.N, 0), len(p))])
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (f *faultFile) Sync() error {
	if err := check(f.inj, OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

// Close closes the inner file even when the injector fails it; see WithFaults.
func (f *faultFile) Close() error {
	if err := check(f.inj, OpClose, f.name); err != nil {
		f.f.Close()
		return err
	}
	return f.f.Close()
}

func (f *faultFile) Stat() (os.FileInfo, error) {
	if err := check(f.inj, OpStat, f.name); err != nil {
		return nil, err
	}
	return f.f.Stat()
}

// faultMappableFile is a faultFile over a Mappable file.
type faultMappableFile struct {
	*faultFile
	m Mappable
}

func (f *faultMappableFile) Map(size int) (Region, error) {
	if err := check(f.inj, OpMap, f.name); err != nil {
		return nil, err
	}
	return f.m.Map(size)
}

// faultPrealloc fails the methods of an inner Preallocatable file.
type faultPrealloc struct {
	ff *faultFile
	p  Preallocatable
}

func (f faultPrealloc) Allocate(size int64) error {
	if err := check(f.ff.inj, OpAllocate, f.ff.name); err != nil {
		return err
	}
	return f.p.Allocate(size)
}

func (f faultPrealloc) MapWritable(size int, huge bool) (WritableRegion, error) {
	if err := check(f.ff.inj, OpMap, f.ff.name); err != nil {
		return nil, err
	}
	r, err := f.p.MapWritable(size, huge)
	if err != nil {
		return nil, err
	}
	return &faultRegion{r: r, ff: f.ff}, nil
}

func (f faultPrealloc) Truncate(size int64) error {
	if err := check(f.ff.inj, OpTruncate, f.ff.name); err != nil {
		return err
	}
	return f.p.Truncate(size)
}

func (f faultPrealloc) WriteAt(p []byte, off int64) (int, error) {
	if err := check(f.ff.inj, OpWrite, f.ff.name); err != nil {
		return 0, err
	}
	return f.p.WriteAt(p, off)
}

func (f faultPrealloc) SyncData() error {
	if err := check(f.ff.inj, OpSync, f.ff.name); err != nil {
		return err
	}
	return f.p.SyncData()
}

// faultPreFile is a faultFile over a Preallocatable file.
type faultPreFile struct {
	*faultFile
	faultPrealloc
}

// faultMapPreFile is a faultFile over a file both Mappable and Preallocatable.
type faultMapPreFile struct {
	faultMappableFile
	faultPrealloc
}

// faultRegion makes the Stores of a WritableRegion OpWrites.
type faultRegion struct {
	r  WritableRegion
	ff *faultFile
}

// Store stores nothing when the injector fails it. For a PartialWriteError it stores up to N of
// the bytes that a real Store copies first (those after p's first StoreLastBytes), as a fault in
// the middle of the copy leaves them.
func (r *faultRegion) Store(off int, p []byte) error {
	err := check(r.ff.inj, OpWrite, r.ff.name)
	if err == nil {
		return r.r.Store(off, p)
	}
	var pw *PartialWriteError
	if !errors.As(err, &pw) || len(p) <= StoreLastBytes {
		return err
	}
	if n := min(max(pw.N, 0), len(p)-StoreLastBytes); n > 0 {
		if serr := r.r.Store(off+StoreLastBytes, p[StoreLastBytes:StoreLastBytes+n]); serr != nil {
			return serr
		}
	}
	return err
}

func (r *faultRegion) Release(off, n int) { r.r.Release(off, n) }

func (r *faultRegion) Close() error { return r.r.Close() }
