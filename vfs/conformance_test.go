package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// fsCase is one implementation under the conformance test: a fresh FS and an existing, empty
// directory to work in.
type fsCase struct {
	name     string
	mappable bool // files from this FS implement Mappable
	setup    func(t *testing.T) (FS, string)
}

func fsCases() []fsCase {
	_, osMappable := any(&osFile{}).(Mappable)
	memDir := func(t *testing.T, fs FS) string {
		dir := "/conformance"
		require.NoError(t, fs.MkdirAll(dir, 0o755))
		return dir
	}
	return []fsCase{
		{"os", osMappable, func(t *testing.T) (FS, string) { return NewOS(), t.TempDir() }},
		{"mem", false, func(t *testing.T) (FS, string) {
			fs := NewMem()
			return fs, memDir(t, fs)
		}},
		{"faults-mem", false, func(t *testing.T) (FS, string) {
			fs := WithFaults(NewMem(), NewCounter())
			return fs, memDir(t, fs)
		}},
		{"faults-os", osMappable, func(t *testing.T) (FS, string) {
			return WithFaults(NewOS(), NewCounter()), t.TempDir()
		}},
	}
}

func writeFile(t *testing.T, fs FS, name, data string) {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	n, err := f.Write([]byte(data))
	require.NoError(t, err)
	require.Equal(t, len(data), n)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

// openWritten writes data to name and opens it read-only.
func openWritten(t *testing.T, fs FS, name, data string) File {
	t.Helper()
	writeFile(t, fs, name, data)
	f, err := fs.Open(name)
	require.NoError(t, err)
	return f
}

func readFile(t *testing.T, fs FS, name string) string {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

// TestConformance runs the same contract over every FS implementation.
func TestConformance(t *testing.T) {
	for _, c := range fsCases() {
		t.Run(c.name, func(t *testing.T) {
			runConformance(t, c)
		})
	}
}

func runConformance(t *testing.T, c fsCase) {
	t.Run("CreateWriteRead", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		f, err := fs.Create(name)
		require.NoError(t, err)
		for _, s := range []string{"hello ", "world"} {
			n, err := f.Write([]byte(s))
			require.NoError(t, err)
			require.Equal(t, len(s), n)
		}
		fi, err := f.Stat()
		require.NoError(t, err)
		require.Equal(t, int64(11), fi.Size())
		require.Equal(t, "f", fi.Name())
		require.False(t, fi.IsDir())
		require.True(t, fi.Mode().IsRegular())
		p := make([]byte, 5)
		n, err := f.ReadAt(p, 6)
		require.NoError(t, err)
		require.Equal(t, "world", string(p[:n]))
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())

		require.Equal(t, "hello world", readFile(t, fs, name))
		fi, err = fs.Stat(name)
		require.NoError(t, err)
		require.Equal(t, int64(11), fi.Size())
		require.Equal(t, "f", fi.Name())
	})

	t.Run("ReadAtPastEnd", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		f := openWritten(t, fs, name, "abcdef")
		defer f.Close()
		p := make([]byte, 4)
		n, err := f.ReadAt(p, 4)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, "ef", string(p[:n]))
		n, err = f.ReadAt(p, 100)
		require.ErrorIs(t, err, io.EOF)
		require.Zero(t, n)
	})

	t.Run("CreateTruncates", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		writeFile(t, fs, name, "long old contents")
		writeFile(t, fs, name, "new")
		require.Equal(t, "new", readFile(t, fs, name))
	})

	t.Run("OpenIsReadOnly", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		f := openWritten(t, fs, name, "data")
		defer f.Close()
		n, err := f.Write([]byte("x"))
		require.ErrorIs(t, err, ErrReadOnly)
		require.Zero(t, n)
		require.ErrorIs(t, f.Sync(), ErrReadOnly)
		require.Equal(t, "data", readFile(t, fs, name))
	})

	t.Run("OpenSeesLaterWrites", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		w, err := fs.Create(name)
		require.NoError(t, err)
		defer w.Close()
		r, err := fs.Open(name)
		require.NoError(t, err)
		defer r.Close()
		_, err = w.Write([]byte("later"))
		require.NoError(t, err)
		p := make([]byte, 5)
		n, err := r.ReadAt(p, 0)
		require.NoError(t, err)
		require.Equal(t, "later", string(p[:n]))
	})

	for _, m := range []struct {
		name string
		call func(fs FS, dir string) error
	}{
		{"OpenMissing", func(fs FS, dir string) error {
			_, err := fs.Open(filepath.Join(dir, "missing"))
			return err
		}},
		{"CreateInMissingDir", func(fs FS, dir string) error {
			_, err := fs.Create(filepath.Join(dir, "nodir", "f"))
			return err
		}},
		{"StatMissing", func(fs FS, dir string) error {
			_, err := fs.Stat(filepath.Join(dir, "missing"))
			return err
		}},
	} {
		t.Run(m.name, func(t *testing.T) {
			fs, dir := c.setup(t)
			require.ErrorIs(t, m.call(fs, dir), os.ErrNotExist)
		})
	}

	t.Run("RenameReplaces", func(t *testing.T) {
		fs, dir := c.setup(t)
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		writeFile(t, fs, a, "from a")
		writeFile(t, fs, b, "from b")
		require.NoError(t, fs.Rename(a, b))
		require.Equal(t, "from a", readFile(t, fs, b))
		_, err := fs.Stat(a)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorIs(t, fs.Rename(a, b), os.ErrNotExist)
	})

	t.Run("Remove", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		writeFile(t, fs, name, "x")
		require.NoError(t, fs.Remove(name))
		_, err := fs.Stat(name)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorIs(t, fs.Remove(name), os.ErrNotExist)

		sub := filepath.Join(dir, "sub")
		require.NoError(t, fs.MkdirAll(sub, 0o755))
		writeFile(t, fs, filepath.Join(sub, "f"), "x")
		require.Error(t, fs.Remove(sub), "a non-empty directory must not be removed")
		require.NoError(t, fs.Remove(filepath.Join(sub, "f")))
		require.NoError(t, fs.Remove(sub))
		_, err = fs.Stat(sub)
		require.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("ListSorted", func(t *testing.T) {
		fs, dir := c.setup(t)
		for _, n := range []string{"c", "a", "B", "b"} {
			writeFile(t, fs, filepath.Join(dir, n), n)
		}
		require.NoError(t, fs.MkdirAll(filepath.Join(dir, "d"), 0o755))
		names, err := fs.List(dir)
		require.NoError(t, err)
		require.Equal(t, []string{"B", "a", "b", "c", "d"}, names)
		_, err = fs.List(filepath.Join(dir, "missing"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("MkdirAllNested", func(t *testing.T) {
		fs, dir := c.setup(t)
		deep := filepath.Join(dir, "x", "y", "z")
		require.NoError(t, fs.MkdirAll(deep, 0o755))
		require.NoError(t, fs.MkdirAll(deep, 0o755), "MkdirAll of an existing directory succeeds")
		for _, d := range []string{filepath.Join(dir, "x"), filepath.Join(dir, "x", "y"), deep} {
			fi, err := fs.Stat(d)
			require.NoError(t, err)
			require.True(t, fi.IsDir(), d)
		}
		writeFile(t, fs, filepath.Join(deep, "f"), "deep")
		require.Equal(t, "deep", readFile(t, fs, filepath.Join(deep, "f")))
		names, err := fs.List(filepath.Join(dir, "x"))
		require.NoError(t, err)
		require.Equal(t, []string{"y"}, names)

		writeFile(t, fs, filepath.Join(dir, "file"), "")
		require.Error(t, fs.MkdirAll(filepath.Join(dir, "file", "sub"), 0o755))
	})

	t.Run("LockExcludes", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "LOCK")
		l, err := fs.Lock(name)
		require.NoError(t, err)
		_, err = fs.Stat(name)
		require.NoError(t, err, "Lock creates the file")

		_, err = fs.Lock(name)
		require.ErrorIs(t, err, ErrLocked)
		require.ErrorContains(t, err, name)
		// Another spelling of the same path is the same lock.
		_, err = fs.Lock(filepath.Join(dir, "sub", "..", "LOCK"))
		require.ErrorIs(t, err, ErrLocked)

		other, err := fs.Lock(filepath.Join(dir, "OTHER"))
		require.NoError(t, err, "a different path is a different lock")
		require.NoError(t, other.Close())

		require.NoError(t, l.Close())
		require.NoError(t, l.Close(), "closing a lock twice is harmless")
		l2, err := fs.Lock(name)
		require.NoError(t, err, "the lock can be taken again after release")
		require.NoError(t, l2.Close())
	})

	t.Run("LockSharedShares", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "LOCK")
		a, err := fs.LockShared(name)
		require.NoError(t, err)
		_, err = fs.Stat(name)
		require.NoError(t, err, "LockShared creates a missing file it can create")
		b, err := fs.LockShared(filepath.Join(dir, "sub", "..", "LOCK"))
		require.NoError(t, err, "shared holders share the lock")

		_, err = fs.Lock(name)
		require.ErrorIs(t, err, ErrLocked, "Lock while shared holders remain")
		require.ErrorContains(t, err, name)

		require.NoError(t, a.Close())
		require.NoError(t, a.Close(), "closing a shared lock twice is harmless")
		_, err = fs.Lock(name)
		require.ErrorIs(t, err, ErrLocked, "the second close of one holder must not release the other's share")

		other, err := fs.Lock(filepath.Join(dir, "OTHER"))
		require.NoError(t, err, "a different path is a different lock")
		require.NoError(t, other.Close())

		require.NoError(t, b.Close())
		l, err := fs.Lock(name)
		require.NoError(t, err, "Lock once the last shared holder closed")
		require.NoError(t, l.Close())
	})

	t.Run("LockExcludesShared", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "LOCK")
		l, err := fs.Lock(name)
		require.NoError(t, err)
		_, err = fs.LockShared(name)
		require.ErrorIs(t, err, ErrLocked)
		require.ErrorContains(t, err, name)
		require.NoError(t, l.Close())

		s, err := fs.LockShared(name)
		require.NoError(t, err, "LockShared once the exclusive holder closed")
		require.NoError(t, s.Close())
		l, err = fs.Lock(name)
		require.NoError(t, err, "Lock once the shared holder closed")
		require.NoError(t, l.Close())
	})

	t.Run("LockSharedKeepsContents", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "LOCK")
		writeFile(t, fs, name, "leveldb leaves LOCK empty; whatever is there stays")
		s, err := fs.LockShared(name)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.Equal(t, "leveldb leaves LOCK empty; whatever is there stays", readFile(t, fs, name))
	})

	t.Run("LockSharedMissingDir", func(t *testing.T) {
		fs, dir := c.setup(t)
		_, err := fs.LockShared(filepath.Join(dir, "nodir", "LOCK"))
		require.ErrorIs(t, err, os.ErrNotExist)
		require.NotErrorIs(t, err, ErrLocked)
	})

	// Readers and writers race for one path: a writer never holds it together with a reader (and
	// readers do share it: the log says how many held it at once).
	t.Run("LockConcurrent", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "LOCK")
		var readers, writers, maxReaders atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					if (g+i)%5 == 0 {
						l, err := fs.Lock(name)
						if err != nil {
							if !errors.Is(err, ErrLocked) {
								errs <- err
							}
							continue
						}
						writers.Add(1)
						if r := readers.Load(); r != 0 {
							errs <- fmt.Errorf("a writer got the lock while %d readers hold it", r)
						}
						writers.Add(-1)
						if err := l.Close(); err != nil {
							errs <- err
						}
						continue
					}
					l, err := fs.LockShared(name)
					if err != nil {
						if !errors.Is(err, ErrLocked) {
							errs <- err
						}
						continue
					}
					r := readers.Add(1)
					for m := maxReaders.Load(); r > m && !maxReaders.CompareAndSwap(m, r); m = maxReaders.Load() {
					}
					if w := writers.Load(); w != 0 {
						errs <- fmt.Errorf("a reader got the lock while a writer holds it")
					}
					runtime.Gosched()
					readers.Add(-1)
					if err := l.Close(); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		l, err := fs.Lock(name)
		require.NoError(t, err, "every holder released its lock")
		require.NoError(t, l.Close())
		t.Logf("at most %d readers at once", maxReaders.Load())
	})

	t.Run("CloseTwice", func(t *testing.T) {
		fs, dir := c.setup(t)
		f, err := fs.Create(filepath.Join(dir, "f"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.ErrorIs(t, f.Close(), os.ErrClosed)
		_, err = f.Write([]byte("x"))
		require.ErrorIs(t, err, os.ErrClosed)
		_, err = f.ReadAt(make([]byte, 1), 0)
		require.Error(t, err)
	})

	t.Run("SyncDir", func(t *testing.T) {
		fs, dir := c.setup(t)
		writeFile(t, fs, filepath.Join(dir, "f"), "x")
		require.NoError(t, fs.SyncDir(dir))
		require.ErrorIs(t, fs.SyncDir(filepath.Join(dir, "missing")), os.ErrNotExist)
	})

	t.Run("Map", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		want := make([]byte, 10000)
		for i := range want {
			want[i] = byte(i * 7)
		}
		f := openWritten(t, fs, name, string(want))
		m, ok := f.(Mappable)
		require.Equal(t, c.mappable, ok, "Mappable")
		if !ok {
			require.NoError(t, f.Close())
			return
		}
		r, err := m.Map(len(want))
		require.NoError(t, err)
		empty, err := m.Map(0)
		require.NoError(t, err)
		require.Empty(t, empty.Bytes())
		require.NoError(t, empty.Close())
		_, err = m.Map(len(want) + 1)
		require.Error(t, err, "mapping past the end of the file")

		got := make([]byte, len(want))
		_, err = f.ReadAt(got, 0)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.Equal(t, got, r.Bytes(), "the mapping matches ReadAt and outlives the File")
		require.NoError(t, r.Close())
		require.NoError(t, r.Close(), "closing a Region twice is harmless")
	})

	t.Run("ConcurrentReadAt", func(t *testing.T) {
		fs, dir := c.setup(t)
		name := filepath.Join(dir, "f")
		data := make([]byte, 4096)
		for i := range data {
			data[i] = byte(i)
		}
		f := openWritten(t, fs, name, string(data))
		defer f.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := make([]byte, 64)
				for off := int64(g); off+64 <= int64(len(data)); off += 64 {
					if _, err := f.ReadAt(p, off); err != nil {
						errs <- err
						return
					}
					if p[0] != data[off] || p[63] != data[off+63] {
						errs <- io.ErrUnexpectedEOF
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
}
