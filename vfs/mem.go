package vfs

import (
	"errors"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/stratadb/strata/internal/dberr"
)

// MemFS is an in-memory FS: a tree of directories and files that also models what a power loss
// keeps.
//
// Crash model. Every file has two contents: its current bytes, and its bytes as of its last Sync.
// Every directory has two entry tables: its current entries, and its entries as of its last
// SyncDir. Creating, renaming and removing a file, and MkdirAll making a child directory, all
// change only the current entries of the parent directory. CrashClone builds the machine after a
// power loss: starting at "/" (which always exists), it follows only synced entries, and every
// file it reaches holds only its synced bytes. Hence:
//
//   - bytes written after a file's last Sync are lost (all of them, never a torn prefix);
//   - a file created and synced whose directory was never synced is gone;
//   - a rename not followed by SyncDir of both directories is undone in each directory that was
//     not synced (so a cross-directory rename synced on one side only can leave the file under
//     both names, like a hard link, or under neither);
//   - a remove not followed by SyncDir is undone: the file returns with its synced bytes;
//   - a directory made by MkdirAll is lost, with everything under it, until its parent is synced;
//   - truncation by Create of an existing file is, like its new bytes, durable only after Sync.
//
// File bytes and directory entries are independent: SyncDir makes no file's bytes durable, and
// Sync makes no entry durable. Locks and open handles do not survive a crash.
//
// Paths are cleaned with filepath.Clean and use "/" as the root; relative paths resolve against
// "/". MemFS files do not implement Mappable, on purpose: readers must work through ReadAt.
//
// Concurrency: all methods are safe for concurrent use. MemFS.mu guards the directory tree and
// the lock table; each file node has its own RWMutex for its bytes, so ReadAt calls on one file
// proceed in parallel. Lock order: MemFS.mu, then a handle's mutex, then a node's mutex.
//
// The zero value is not usable; call NewMem.
type MemFS struct {
	mu    sync.Mutex
	root  *memNode
	locks map[string]struct{} // cleaned paths held by Lock
	// shared counts the holders of LockShared per cleaned path; nil until the first one.
	shared map[string]int
}

var _ FS = (*MemFS)(nil)

// memNode is a directory or a file. A file node may be reachable under several names at once:
// hard links (Link), and the names CrashClone keeps (see the crash model); directories form a
// tree.
type memNode struct {
	isDir bool
	perm  os.FileMode

	// Directory state, guarded by MemFS.mu.
	entries       map[string]*memNode // current entries
	syncedEntries map[string]*memNode // entries as of the last SyncDir

	// File state, guarded by mu.
	mu         sync.RWMutex
	data       []byte // current bytes
	syncedData []byte // bytes as of the last Sync; never modified in place
	// shared is true while data may share its backing array with syncedData (or with a clone's
	// bytes). A write that overwrites bytes in place copies data first when shared is set;
	// appends past len(syncedData) are safe because syncedData's capacity is cut to its length.
	shared bool
}

func newDirNode(perm os.FileMode) *memNode {
	return &memNode{
		isDir:         true,
		perm:          perm.Perm(),
		entries:       make(map[string]*memNode),
		syncedEntries: make(map[string]*memNode),
	}
}

func newFileNode() *memNode { return &memNode{perm: 0o644} }

var (
	errIsDir      = errors.New("is a directory")
	errNotDir     = errors.New("not a directory")
	errNotEmpty   = errors.New("directory not empty")
	errRoot       = errors.New("operation not permitted on the root directory")
	errIntoItself = errors.New("cannot move a directory into itself")
)

// NewMem returns an empty MemFS holding only the root directory "/", which is durable.
func NewMem() *MemFS {
	return &MemFS{root: newDirNode(0o755), locks: make(map[string]struct{})}
}

// cleanPath turns a host path into an absolute slash-separated path: "a/../b" and "/b" both
// become "/b", "" and "." become "/".
func cleanPath(name string) string {
	p := filepath.ToSlash(filepath.Clean(name))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}

// lookupLocked returns the node at the cleaned path p.
func (fs *MemFS) lookupLocked(p string) (*memNode, error) {
	n := fs.root
	if p == "/" {
		return n, nil
	}
	for _, part := range strings.Split(p[1:], "/") {
		if !n.isDir {
			return nil, errNotDir
		}
		child, ok := n.entries[part]
		if !ok {
			return nil, os.ErrNotExist
		}
		n = child
	}
	return n, nil
}

// lookup returns the node at name, or an *os.PathError for op. It holds fs.mu for the walk only:
// a node's kind and permissions never change, and its bytes have their own lock.
func (fs *MemFS) lookup(op, name string) (*memNode, error) {
	fs.mu.Lock()
	n, err := fs.lookupLocked(cleanPath(name))
	fs.mu.Unlock()
	if err != nil {
		return nil, &os.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

// parentLocked returns the directory that holds the cleaned path p, and p's last element.
func (fs *MemFS) parentLocked(p string) (*memNode, string, error) {
	if p == "/" {
		return nil, "", errRoot
	}
	dir, base := path.Split(p)
	d, err := fs.dirLocked(path.Clean(dir))
	if err != nil {
		return nil, "", err
	}
	return d, base, nil
}

// dirLocked returns the directory at the cleaned path p: errNotDir when p names a file.
func (fs *MemFS) dirLocked(p string) (*memNode, error) {
	n, err := fs.lookupLocked(p)
	if err != nil {
		return nil, err
	}
	if !n.isDir {
		return nil, errNotDir
	}
	return n, nil
}

// Create creates or truncates name. The file's new entry is durable after SyncDir of its
// directory; truncation of an existing file is durable after Sync.
func (fs *MemFS) Create(name string) (File, error) {
	p := cleanPath(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.parentLocked(p)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	n := d.entries[base]
	switch {
	case n == nil:
		n = newFileNode()
		d.entries[base] = n
	case n.isDir:
		return nil, &os.PathError{Op: "open", Path: name, Err: errIsDir}
	default:
		n.truncate()
	}
	return newMemFile(n, name, false), nil
}

// Open opens the file name read-only. Directories cannot be opened.
func (fs *MemFS) Open(name string) (File, error) {
	n, err := fs.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.isDir {
		return nil, &os.PathError{Op: "open", Path: name, Err: errIsDir}
	}
	return newMemFile(n, name, true), nil
}

// Remove removes the file or empty directory name. Open handles keep working on the removed
// file. Until SyncDir of its directory, a crash brings the entry back.
func (fs *MemFS) Remove(name string) error {
	p := cleanPath(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.parentLocked(p)
	if err != nil {
		return &os.PathError{Op: "remove", Path: name, Err: err}
	}
	n, ok := d.entries[base]
	if !ok {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	if n.isDir && len(n.entries) > 0 {
		return &os.PathError{Op: "remove", Path: name, Err: errNotEmpty}
	}
	delete(d.entries, base)
	return nil
}

// Rename moves oldname to newname, replacing a file at newname (or an empty directory, when
// oldname is a directory). Until SyncDir of both directories, a crash undoes it (per directory).
func (fs *MemFS) Rename(oldname, newname string) error {
	po, pn := cleanPath(oldname), cleanPath(newname)
	fail := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	od, obase, err := fs.parentLocked(po)
	if err != nil {
		return fail(err)
	}
	n, ok := od.entries[obase]
	if !ok {
		return fail(os.ErrNotExist)
	}
	nd, nbase, err := fs.parentLocked(pn)
	if err != nil {
		return fail(err)
	}
	if po == pn {
		return nil
	}
	if n.isDir && strings.HasPrefix(pn, po+"/") {
		return fail(errIntoItself)
	}
	if old, ok := nd.entries[nbase]; ok {
		switch {
		case old.isDir && !n.isDir:
			return fail(errIsDir)
		case !old.isDir && n.isDir:
			return fail(errNotDir)
		case old.isDir && len(old.entries) > 0:
			return fail(errNotEmpty)
		}
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

// MkdirAll creates dir and any missing parents with permission perm. Each new directory is an
// entry of its parent and, like a file, is durable only after SyncDir of that parent.
func (fs *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	p := cleanPath(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.root
	if p == "/" {
		return nil
	}
	for _, part := range strings.Split(p[1:], "/") {
		child, ok := n.entries[part]
		if !ok {
			child = newDirNode(perm)
			n.entries[part] = child
		} else if !child.isDir {
			return &os.PathError{Op: "mkdir", Path: dir, Err: errNotDir}
		}
		n = child
	}
	return nil
}

// List returns the names of dir's current entries, sorted.
func (fs *MemFS) List(dir string) ([]string, error) {
	p := cleanPath(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.dirLocked(p)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	names := make([]string, 0, len(n.entries))
	for name := range n.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Stat describes the file or directory name.
func (fs *MemFS) Stat(name string) (os.FileInfo, error) {
	n, err := fs.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return n.info(path.Base(cleanPath(name))), nil
}

// Lock takes the in-memory lock on name, creating the file (not durably) if it is missing. A
// second Lock, or a LockShared, of the same path on this MemFS fails with an error wrapping
// ErrLocked until the first Closer is closed; so does a Lock while shared holders remain. Locks
// are per MemFS: a CrashClone starts with none.
func (fs *MemFS) Lock(name string) (io.Closer, error) {
	return fs.lock(name, false)
}

// LockShared takes a shared in-memory lock on name, creating the file (not durably) if it is
// missing. Any number of shared holders may hold a path at once; it fails with an error wrapping
// ErrLocked while a Lock holds the path, and a Lock fails while any shared holder remains.
func (fs *MemFS) LockShared(name string) (io.Closer, error) {
	return fs.lock(name, true)
}

// lock takes the exclusive or a shared lock on name.
func (fs *MemFS) lock(name string, shared bool) (io.Closer, error) {
	p := cleanPath(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if _, held := fs.locks[p]; held {
		return nil, dberr.Mark(ErrLocked, "lock %s: held by another DB on this MemFS", name)
	}
	if n := fs.shared[p]; n > 0 && !shared {
		return nil, dberr.Mark(ErrLocked, "lock %s: held shared by %d reader(s) on this MemFS", name, n)
	}
	d, base, err := fs.parentLocked(p)
	if err != nil {
		return nil, &os.PathError{Op: "lock", Path: name, Err: err}
	}
	n := d.entries[base]
	if n == nil {
		d.entries[base] = newFileNode()
	} else if n.isDir {
		return nil, &os.PathError{Op: "lock", Path: name, Err: errIsDir}
	}
	if shared {
		if fs.shared == nil {
			fs.shared = make(map[string]int)
		}
		fs.shared[p]++
	} else {
		fs.locks[p] = struct{}{}
	}
	return &memLock{fs: fs, path: p, shared: shared}, nil
}

// memLock is a lock held on a MemFS, exclusive or one shared holder's. Close releases it once;
// later calls return nil.
type memLock struct {
	once   sync.Once
	fs     *MemFS
	path   string
	shared bool
}

func (l *memLock) Close() error {
	l.once.Do(func() {
		l.fs.mu.Lock()
		defer l.fs.mu.Unlock()
		if !l.shared {
			delete(l.fs.locks, l.path)
			return
		}
		if l.fs.shared[l.path]--; l.fs.shared[l.path] <= 0 {
			delete(l.fs.shared, l.path)
		}
	})
	return nil
}

// SyncDir makes dir's current entries its synced entries: what a crash keeps of dir.
func (fs *MemFS) SyncDir(dir string) error {
	p := cleanPath(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.dirLocked(p)
	if err != nil {
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	}
	n.syncedEntries = maps.Clone(n.entries)
	return nil
}
