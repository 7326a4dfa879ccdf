package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// noLinkFS hides the Link method of the FS it holds.
type noLinkFS struct{ FS }

// Every Linker: the new name reads the same file (the same inode on the OS), outlives the old
// name, and the errors for an existing new name, a missing old one and a directory.
func TestLink(t *testing.T) {
	cases := []struct {
		name string
		fs   func(t *testing.T) (FS, string)
	}{
		{"os", func(t *testing.T) (FS, string) { return NewOS(), t.TempDir() }},
		{"mem", func(t *testing.T) (FS, string) { return NewMem(), "/d" }},
		{"faults(mem)", func(t *testing.T) (FS, string) { return WithFaults(NewMem(), nil), "/d" }},
		{"faults(os)", func(t *testing.T) (FS, string) { return WithFaults(NewOS(), nil), t.TempDir() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, dir := c.fs(t)
			require.NoError(t, fs.MkdirAll(filepath.Join(dir, "sub"), 0o755))
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "sub", "b")
			writeFile(t, fs, a, "contents")

			require.NoError(t, Link(fs, a, b))
			require.Equal(t, "contents", readFile(t, fs, b))
			if c.name == "os" {
				fa, err := os.Stat(a)
				require.NoError(t, err)
				fb, err := os.Stat(b)
				require.NoError(t, err)
				require.True(t, os.SameFile(fa, fb), "one inode under two names")
			}

			err := Link(fs, a, b)
			require.ErrorIs(t, err, os.ErrExist, "the new name exists")
			require.Equal(t, "contents", readFile(t, fs, b), "a failed Link changes nothing")
			require.ErrorIs(t, Link(fs, filepath.Join(dir, "missing"), filepath.Join(dir, "c")), os.ErrNotExist)
			require.Error(t, Link(fs, filepath.Join(dir, "sub"), filepath.Join(dir, "dirlink")), "a directory")
			_, err = fs.Stat(filepath.Join(dir, "dirlink"))
			require.ErrorIs(t, err, os.ErrNotExist)

			require.NoError(t, fs.Remove(a))
			require.Equal(t, "contents", readFile(t, fs, b), "the file lives on under its other name")
			names, err := fs.List(dir)
			require.NoError(t, err)
			require.Equal(t, []string{"sub"}, names)
		})
	}
}

// Link on an FS without links, and WithFaults over one, fail with errors.ErrUnsupported and
// leave nothing behind; the injector is not asked about a link that cannot happen.
func TestLinkUnsupported(t *testing.T) {
	mem := NewMem()
	writeFile(t, mem, "/a", "x")
	require.ErrorIs(t, Link(noLinkFS{mem}, "/a", "/b"), errors.ErrUnsupported)
	counter := NewCounter()
	ffs := WithFaults(noLinkFS{mem}, counter)
	err := Link(ffs, "/a", "/b")
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.Zero(t, counter.Count())
	_, err = mem.Stat("/b")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// WithFaults fails a chosen Link (nothing is linked then), with the new name as its path, and
// counts links as OpLink.
func TestLinkFaults(t *testing.T) {
	mem := NewMem()
	writeFile(t, mem, "/a", "x")
	inj := OnNth(1, ErrInjected, OpLink)
	fs := WithFaults(mem, inj)
	err := Link(fs, "/a", "/b")
	require.ErrorIs(t, err, ErrInjected)
	require.ErrorContains(t, err, "injected link /a /b")
	_, err = mem.Stat("/b")
	require.ErrorIs(t, err, os.ErrNotExist, "an injected failure links nothing")
	require.NoError(t, Link(fs, "/a", "/b"), "only the first link fails")
	require.Equal(t, int64(2), inj.Count())
	byPath := OnPath(func(p string) bool { return p == "/new" }, ErrInjected, OpLink)
	fs = WithFaults(mem, byPath)
	require.ErrorIs(t, Link(fs, "/a", "/new"), ErrInjected, "the path is the new name")
	require.NoError(t, Link(fs, "/a", "/other"), "another new name")

	// Other ops do not count as links, and links count under OpLink only.
	c := NewCounter(OpCreate)
	fs = WithFaults(mem, c)
	require.NoError(t, Link(fs, "/a", "/c"))
	require.Zero(t, c.Count())
	require.NotEqual(t, OpCreate, OpLink)
}

// The crash model of MemFS.Link: the new name survives a crash only after SyncDir of its
// directory; the file's bytes under it are its synced bytes; and a clone holds one file under
// both names.
func TestMemLinkCrash(t *testing.T) {
	mem := NewMem()
	require.NoError(t, mem.MkdirAll("/d", 0o755))
	require.NoError(t, mem.SyncDir("/"))
	writeFile(t, mem, "/d/a", "synced")
	require.NoError(t, mem.SyncDir("/d"))

	require.NoError(t, mem.Link("/d/a", "/d/b"))
	clone := mem.CrashClone()
	_, err := clone.Stat("/d/b")
	require.ErrorIs(t, err, os.ErrNotExist, "a link not followed by SyncDir is lost")
	require.Equal(t, "synced", readFile(t, clone, "/d/a"))

	require.NoError(t, mem.SyncDir("/d"))
	f, err := mem.Open("/d/b")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	w, err := mem.Create("/d/c") // an unsynced file, linked and synced as an entry only
	require.NoError(t, err)
	_, err = w.Write([]byte("unsynced"))
	require.NoError(t, err)
	require.NoError(t, mem.Link("/d/c", "/d/e"))
	require.NoError(t, mem.SyncDir("/d"))
	clone = mem.CrashClone()
	require.Equal(t, "synced", readFile(t, clone, "/d/b"))
	require.Equal(t, "", readFile(t, clone, "/d/e"), "the entry is durable, the bytes were never synced")
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())
	require.Equal(t, "unsynced", readFile(t, mem.CrashClone(), "/d/e"), "a Sync through either name")

	// One node under two names in the clone: truncating one empties the other.
	t2, err := clone.Create("/d/a")
	require.NoError(t, err)
	require.NoError(t, t2.Close())
	require.Equal(t, "", readFile(t, clone, "/d/b"))

	// Removing the old name, synced, leaves the file under the new one.
	require.NoError(t, mem.Remove("/d/a"))
	require.NoError(t, mem.SyncDir("/d"))
	clone = mem.CrashClone()
	_, err = clone.Stat("/d/a")
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, "synced", readFile(t, clone, "/d/b"))
}
