package vfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// memWrite creates name on fs and writes data; it syncs the file only when sync is set.
func memWrite(t *testing.T, fs FS, name, data string, sync bool) File {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write([]byte(data))
	require.NoError(t, err)
	if sync {
		require.NoError(t, f.Sync())
	}
	return f
}

func requireMissing(t *testing.T, fs FS, name string) {
	t.Helper()
	_, err := fs.Stat(name)
	require.ErrorIs(t, err, os.ErrNotExist, "%s should not exist; tree:\n%s", name, fs)
}

// newMemDir returns a MemFS with a durable directory /db.
func newMemDir(t *testing.T) *MemFS {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	require.NoError(t, fs.SyncDir("/"))
	return fs
}

func TestMemCrash(t *testing.T) {
	t.Run("UnsyncedBytesDropped", func(t *testing.T) {
		fs := newMemDir(t)
		memWrite(t, fs, "/db/f", "unsynced", false)
		require.NoError(t, fs.SyncDir("/db"))
		c := fs.CrashClone()
		require.Equal(t, "", readFile(t, c, "/db/f"))
	})

	t.Run("SyncedBytesKept", func(t *testing.T) {
		fs := newMemDir(t)
		memWrite(t, fs, "/db/f", "synced", true)
		require.NoError(t, fs.SyncDir("/db"))
		require.Equal(t, "synced", readFile(t, fs.CrashClone(), "/db/f"))
	})

	t.Run("BytesAfterLastSyncDropped", func(t *testing.T) {
		fs := newMemDir(t)
		f := memWrite(t, fs, "/db/f", "one ", true)
		_, err := f.Write([]byte("two "))
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		_, err = f.Write([]byte("three"))
		require.NoError(t, err)
		require.NoError(t, fs.SyncDir("/db"))
		require.Equal(t, "one two ", readFile(t, fs.CrashClone(), "/db/f"))
		require.Equal(t, "one two three", readFile(t, fs, "/db/f"))
	})

	t.Run("CreatedWithoutSyncDirVanishes", func(t *testing.T) {
		fs := newMemDir(t)
		memWrite(t, fs, "/db/f", "synced bytes", true)
		requireMissing(t, fs.CrashClone(), "/db/f")
	})

	t.Run("RenameWithoutSyncDirUndone", func(t *testing.T) {
		fs := newMemDir(t)
		memWrite(t, fs, "/db/tmp", "new", true).Close()
		memWrite(t, fs, "/db/CURRENT", "old", true).Close()
		require.NoError(t, fs.SyncDir("/db"))
		require.NoError(t, fs.Rename("/db/tmp", "/db/CURRENT"))

		c := fs.CrashClone()
		require.Equal(t, "old", readFile(t, c, "/db/CURRENT"))
		require.Equal(t, "new", readFile(t, c, "/db/tmp"))

		require.NoError(t, fs.SyncDir("/db"))
		c = fs.CrashClone()
		require.Equal(t, "new", readFile(t, c, "/db/CURRENT"))
		requireMissing(t, c, "/db/tmp")
	})

	t.Run("RemoveWithoutSyncDirUndone", func(t *testing.T) {
		fs := newMemDir(t)
		f := memWrite(t, fs, "/db/f", "kept", true)
		require.NoError(t, fs.SyncDir("/db"))
		_, err := f.Write([]byte(" lost"))
		require.NoError(t, err)
		require.NoError(t, fs.Remove("/db/f"))
		requireMissing(t, fs, "/db/f")

		c := fs.CrashClone()
		require.Equal(t, "kept", readFile(t, c, "/db/f"), "the file returns with its synced bytes")

		require.NoError(t, fs.SyncDir("/db"))
		requireMissing(t, fs.CrashClone(), "/db/f")
	})

	t.Run("SyncDirThenCrashKeepsEntries", func(t *testing.T) {
		fs := newMemDir(t)
		for _, n := range []string{"a", "b", "c"} {
			memWrite(t, fs, "/db/"+n, n, true).Close()
		}
		require.NoError(t, fs.SyncDir("/db"))
		c := fs.CrashClone()
		names, err := c.List("/db")
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b", "c"}, names)
		for _, n := range names {
			require.Equal(t, n, readFile(t, c, "/db/"+n))
		}
	})

	t.Run("NestedDirs", func(t *testing.T) {
		fs := NewMem()
		require.NoError(t, fs.MkdirAll("/a/b/c", 0o755))
		memWrite(t, fs, "/a/b/c/f", "deep", true).Close()
		require.NoError(t, fs.SyncDir("/a/b/c"))
		require.NoError(t, fs.SyncDir("/a/b"))
		require.NoError(t, fs.SyncDir("/a"))
		// "/" not synced: /a, and everything under it, is lost.
		requireMissing(t, fs.CrashClone(), "/a")

		require.NoError(t, fs.SyncDir("/"))
		c := fs.CrashClone()
		require.Equal(t, "deep", readFile(t, c, "/a/b/c/f"))
		fi, err := c.Stat("/a/b")
		require.NoError(t, err)
		require.True(t, fi.IsDir())

		// A directory made after the parent's sync is lost again.
		require.NoError(t, fs.MkdirAll("/a/b/x/y", 0o755))
		require.NoError(t, fs.SyncDir("/a/b/x"))
		requireMissing(t, fs.CrashClone(), "/a/b/x")
	})

	t.Run("OriginalUnaffected", func(t *testing.T) {
		fs := newMemDir(t)
		f := memWrite(t, fs, "/db/f", "synced", true)
		memWrite(t, fs, "/db/g", "unsynced", false).Close()
		require.NoError(t, fs.SyncDir("/db"))
		_, err := f.Write([]byte("+more"))
		require.NoError(t, err)
		before := fs.String()

		c := fs.CrashClone()
		require.Equal(t, before, fs.String())
		require.Equal(t, "synced+more", readFile(t, fs, "/db/f"))
		require.Equal(t, "unsynced", readFile(t, fs, "/db/g"))

		// The open handle keeps working on the original, and the two never see each other's
		// writes.
		_, err = f.Write([]byte("!"))
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		require.Equal(t, "synced+more!", readFile(t, fs, "/db/f"))
		require.Equal(t, "synced", readFile(t, c, "/db/f"))

		require.NoError(t, memWrite(t, c, "/db/f", "clone", false).Close())
		require.Equal(t, "synced+more!", readFile(t, fs, "/db/f"))
	})

	t.Run("SharedBytesNotCorrupted", func(t *testing.T) {
		// Sync and CrashClone share bytes without copying; overwriting through a second handle
		// must not leak into the synced bytes or the clone.
		fs := newMemDir(t)
		f := memWrite(t, fs, "/db/f", "aaaa", true)
		require.NoError(t, fs.SyncDir("/db"))
		c := fs.CrashClone()
		g, err := fs.Create("/db/f") // truncates; g writes from offset 0
		require.NoError(t, err)
		_, err = g.Write([]byte("bbbbbb"))
		require.NoError(t, err)
		require.NoError(t, g.Sync())
		_, err = f.Write([]byte("cc")) // f's offset is 4: overwrites synced bytes in place
		require.NoError(t, err)
		require.Equal(t, "bbbbcc", readFile(t, fs, "/db/f"))
		require.Equal(t, "bbbbbb", readFile(t, fs.CrashClone(), "/db/f"))
		require.Equal(t, "aaaa", readFile(t, c, "/db/f"))

		h := memWrite(t, fs, "/db/h", "xxxx", true)
		memWrite(t, fs, "/db/h", "y", false)
		_, err = h.Write([]byte("z")) // offset 4, past the end of "y": the gap is zero-filled
		require.NoError(t, err)
		require.NoError(t, fs.SyncDir("/db"))
		require.Equal(t, "y\x00\x00\x00z", readFile(t, fs, "/db/h"))
		require.Equal(t, "xxxx", readFile(t, fs.CrashClone(), "/db/h"))
	})

	t.Run("CloneOfClone", func(t *testing.T) {
		fs := newMemDir(t)
		memWrite(t, fs, "/db/f", "gen1", true).Close()
		require.NoError(t, fs.SyncDir("/db"))
		c1 := fs.CrashClone()

		f, err := c1.Create("/db/f")
		require.NoError(t, err)
		_, err = f.Write([]byte("gen2"))
		require.NoError(t, err)
		require.NoError(t, f.Sync()) // synced bytes, entry already durable in c1
		memWrite(t, c1, "/db/g", "new entry", true).Close()
		_, err = f.Write([]byte(" tail"))
		require.NoError(t, err)

		c2 := c1.CrashClone()
		require.Equal(t, "gen2", readFile(t, c2, "/db/f"))
		requireMissing(t, c2, "/db/g")
		require.Equal(t, "gen1", readFile(t, fs, "/db/f"))
		require.Equal(t, "gen2 tail", readFile(t, c1, "/db/f"))
	})

	t.Run("TruncateNotDurableUntilSync", func(t *testing.T) {
		fs := newMemDir(t)
		memWrite(t, fs, "/db/f", "old", true).Close()
		require.NoError(t, fs.SyncDir("/db"))
		memWrite(t, fs, "/db/f", "new", false).Close()
		require.Equal(t, "old", readFile(t, fs.CrashClone(), "/db/f"))
	})

	t.Run("LocksNotCloned", func(t *testing.T) {
		fs := newMemDir(t)
		l, err := fs.Lock("/db/LOCK")
		require.NoError(t, err)
		defer l.Close()
		require.NoError(t, fs.SyncDir("/db"))
		c := fs.CrashClone()
		l2, err := c.Lock("/db/LOCK")
		require.NoError(t, err, "a crash releases every lock")
		require.NoError(t, l2.Close())

		require.NoError(t, l.Close())
		s, err := fs.LockShared("/db/LOCK")
		require.NoError(t, err)
		defer s.Close()
		l3, err := fs.CrashClone().Lock("/db/LOCK")
		require.NoError(t, err, "a crash releases shared locks too")
		require.NoError(t, l3.Close())
	})
}

func TestMemPaths(t *testing.T) {
	fs := NewMem()
	fi, err := fs.Stat("/")
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.Equal(t, "/", fi.Name())

	require.NoError(t, fs.MkdirAll("db", 0o755))
	writeFile(t, fs, "db/./x/../f", "relative")
	require.Equal(t, "relative", readFile(t, fs, "/db/f"))
	names, err := fs.List(".")
	require.NoError(t, err)
	require.Equal(t, []string{"db"}, names)

	_, err = fs.List("/db/f")
	require.Error(t, err, "List of a file")
	_, err = fs.Create("/db")
	require.Error(t, err, "Create over a directory")
	_, err = fs.Open("/db")
	require.Error(t, err, "Open of a directory")
	require.Error(t, fs.Remove("/"))
	_, err = fs.Create("/db/f/g")
	require.Error(t, err, "a file is not a directory")
}

func TestMemRenameDir(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/a/b", 0o755))
	writeFile(t, fs, "/a/b/f", "x")
	require.Error(t, fs.Rename("/a", "/a/b/c"), "into itself")
	require.NoError(t, fs.Rename("/a", "/z"))
	require.Equal(t, "x", readFile(t, fs, "/z/b/f"))
	writeFile(t, fs, "/file", "")
	require.Error(t, fs.Rename("/z", "/file"), "directory over a file")
	require.Error(t, fs.Rename("/file", "/z"), "file over a directory")
}

func TestMemString(t *testing.T) {
	fs := newMemDir(t)
	f := memWrite(t, fs, "/db/LOG", "12345", true)
	_, err := f.Write([]byte("678"))
	require.NoError(t, err)
	memWrite(t, fs, "/db/OLD", "", true).Close()
	require.NoError(t, fs.SyncDir("/db"))
	require.NoError(t, fs.Remove("/db/OLD"))
	memWrite(t, fs, "/db/CURRENT", "m", false).Close()
	require.Equal(t, "/\n"+
		"/db/\n"+
		"/db/CURRENT 1 synced=0 unsynced-entry\n"+
		"/db/LOG 8 synced=5\n"+
		"/db/OLD removed-unsynced\n", fs.String())
}

// TestMemCrashCloneTorn: a torn crash clone keeps the synced bytes of every file plus the part of
// its unsynced tail that keep chooses, only synced directory entries, and the synced bytes of a
// file rewritten in place (its current bytes do not extend its synced ones).
func TestMemCrashCloneTorn(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/d", 0o755))
	require.NoError(t, fs.SyncDir("/"))
	write := func(name, data string, sync bool) File { return memWrite(t, fs, name, data, sync) }
	a := write("/d/a", "synced", true)
	_, err := a.Write([]byte(" tail"))
	require.NoError(t, err)
	b := write("/d/b", "old", true)
	_, err = b.(interface {
		WriteAt([]byte, int64) (int, error)
	}).WriteAt([]byte("NEW!"), 0)
	require.NoError(t, err)
	require.NoError(t, fs.SyncDir("/d"))
	write("/d/c", "entry never synced", true)

	var asked []int
	torn := fs.CrashCloneTorn(func(n int) int {
		asked = append(asked, n)
		return 3
	})
	require.Equal(t, []int{5}, asked, "only a's tail extends its synced bytes")
	require.Equal(t, "synced ta", readFile(t, torn, "/d/a"))
	require.Equal(t, "old", readFile(t, torn, "/d/b"))
	_, err = torn.Stat("/d/c")
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, "synced tail", readFile(t, fs, "/d/a"), "the original is unchanged")
}

// TestMemResizeRejects checks that Allocate and Truncate refuse a negative size, a read-only
// handle and a closed one, and leave the file alone.
func TestMemResizeRejects(t *testing.T) {
	fs := NewMem()
	w := memWrite(t, fs, "/f", "abc", false)
	r, err := fs.Open("/f")
	require.NoError(t, err)
	defer r.Close()
	pw, pr := w.(Preallocatable), r.(Preallocatable)
	for _, resize := range []func(Preallocatable, int64) error{Preallocatable.Allocate, Preallocatable.Truncate} {
		require.Error(t, resize(pw, -1))
		require.ErrorIs(t, resize(pr, 1), ErrReadOnly)
	}
	require.NoError(t, w.Close())
	require.ErrorIs(t, pw.Truncate(1), os.ErrClosed)
	require.Equal(t, "abc", readFile(t, fs, "/f"))
}
