package vfs

import (
	"errors"
	"fmt"
	"os"
)

// Linker is implemented by filesystems that make hard links: the OS filesystem (NewOS), MemFS,
// and the WithFaults wrapper (which links only when the FS it wraps does).
type Linker interface {
	// Link makes newname a second name of the file oldname: both names are the same file, whose
	// bytes, written through either, the other shows, and which lives on until its last name is
	// removed. oldname must be a file, not a directory; newname must not exist (the error then
	// matches os.ErrExist), and on most systems must lie on the same filesystem as oldname. Like
	// Create, Link changes only the directory of newname: the new entry is durable after SyncDir
	// of that directory, and the file's bytes are as durable as the file's last Sync made them.
	Link(oldname, newname string) error
}

// Link makes newname a hard link to oldname on fs (see Linker). When fs is not a Linker it
// returns an error matching errors.ErrUnsupported, so that a caller can copy the file instead.
func Link(fs FS, oldname, newname string) error {
	l, ok := fs.(Linker)
	if !ok {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errors.ErrUnsupported}
	}
	return l.Link(oldname, newname)
}

var (
	_ Linker = osFS{}
	_ Linker = (*MemFS)(nil)
	_ Linker = (*faultFS)(nil)
)

// Link calls os.Link: link(2) on Unix, CreateHardLink on Windows.
func (osFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Link adds newname as a second entry for the node of the file oldname. Like Create, it changes
// only the current entries of newname's directory, so a crash before SyncDir of that directory
// loses the new name (and keeps the old one); after it, CrashClone reaches the one node under
// both names (and keeps its synced bytes under each). Writes through a handle of either name,
// and a Create that truncates either, change the one node.
func (fs *MemFS) Link(oldname, newname string) error {
	po, pn := cleanPath(oldname), cleanPath(newname)
	fail := func(err error) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookupLocked(po)
	if err != nil {
		return fail(err)
	}
	if n.isDir {
		return fail(errIsDir)
	}
	d, base, err := fs.parentLocked(pn)
	if err != nil {
		return fail(err)
	}
	if _, ok := d.entries[base]; ok {
		return fail(os.ErrExist)
	}
	d.entries[base] = n
	return nil
}

// Link links through the wrapped FS when it is a Linker, after asking the injector about
// OpLink on newname (an injected error leaves nothing linked). When the wrapped FS is not a
// Linker it returns an error matching errors.ErrUnsupported without consulting the injector:
// there is no operation to fail, and callers fall back to copying.
func (fs *faultFS) Link(oldname, newname string) error {
	l, ok := fs.fs.(Linker)
	if !ok {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errors.ErrUnsupported}
	}
	if err := fs.inj.MaybeError(OpLink, newname); err != nil {
		return fmt.Errorf("injected link %s %s: %w", oldname, newname, err)
	}
	return l.Link(oldname, newname)
}
