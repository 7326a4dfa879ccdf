package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpString(t *testing.T) {
	want := map[Op]string{
		OpCreate: "create", OpOpen: "open", OpRead: "read", OpWrite: "write", OpSync: "sync",
		OpClose: "close", OpRemove: "remove", OpRename: "rename", OpMkdir: "mkdir", OpList: "list",
		OpStat: "stat", OpLock: "lock", OpSyncDir: "syncdir", OpMap: "map", OpAllocate: "allocate",
		OpTruncate: "truncate", OpLockShared: "lockshared", OpLink: "link",
	}
	require.Len(t, want, int(numOps))
	for op, name := range want {
		require.Equal(t, name, op.String())
	}
	require.Equal(t, "op(200)", Op(200).String())
}

// writeChunks writes each chunk to a new file name on fs and returns the errors of the writes.
func writeChunks(t *testing.T, fs FS, name string, chunks ...string) []error {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	defer f.Close()
	errs := make([]error, len(chunks))
	for i, c := range chunks {
		_, errs[i] = f.Write([]byte(c))
	}
	return errs
}

func TestOnNth(t *testing.T) {
	t.Run("FailsOnce", func(t *testing.T) {
		mem := NewMem()
		inj := OnNth(3, ErrInjected, OpWrite)
		errs := writeChunks(t, WithFaults(mem, inj), "/f", "1", "2", "3", "4", "5")
		for i, err := range errs {
			if i == 2 {
				require.ErrorIs(t, err, ErrInjected)
			} else {
				require.NoError(t, err, "write %d", i+1)
			}
		}
		require.Equal(t, "1245", readFile(t, mem, "/f"), "the failed write wrote nothing")
		require.Equal(t, int64(5), inj.Count())
		require.True(t, inj.Fired())
	})

	t.Run("Sticky", func(t *testing.T) {
		mem := NewMem()
		inj := OnNth(3, ErrInjected, OpWrite).Sticky()
		errs := writeChunks(t, WithFaults(mem, inj), "/f", "1", "2", "3", "4", "5")
		for i, err := range errs {
			if i >= 2 {
				require.ErrorIs(t, err, ErrInjected, "write %d", i+1)
			} else {
				require.NoError(t, err, "write %d", i+1)
			}
		}
		require.Equal(t, "12", readFile(t, mem, "/f"))
	})

	t.Run("AllOpsWhenNoneGiven", func(t *testing.T) {
		inj := OnNth(2, ErrInjected)
		fs := WithFaults(NewMem(), inj)
		require.NoError(t, fs.MkdirAll("/d", 0o755)) // op 1
		_, err := fs.Create("/d/f")                  // op 2
		require.ErrorIs(t, err, ErrInjected)
		_, err = fs.Stat("/d") // op 3
		require.NoError(t, err)
		_, err = fs.Stat("/d/f")
		require.ErrorIs(t, err, os.ErrNotExist, "the failed Create created nothing")
	})

	t.Run("NotYetReached", func(t *testing.T) {
		inj := OnNth(10, ErrInjected, OpSync)
		for _, err := range writeChunks(t, WithFaults(NewMem(), inj), "/f", "a", "b") {
			require.NoError(t, err)
		}
		require.False(t, inj.Fired())
		require.Zero(t, inj.Count())
	})

	t.Run("ConcurrentExactlyOnce", func(t *testing.T) {
		inj := OnNth(50, ErrInjected, OpStat)
		fs := WithFaults(NewMem(), inj)
		var wg sync.WaitGroup
		var mu sync.Mutex
		failures := 0
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					if _, err := fs.Stat("/"); err != nil {
						mu.Lock()
						failures++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 1, failures)
		require.Equal(t, int64(200), inj.Count())
	})
}

func TestOnPath(t *testing.T) {
	isLog := func(p string) bool { return strings.HasSuffix(p, ".log") }
	inj := OnPath(isLog, ErrInjected, OpSync, OpCreate)
	fs := WithFaults(NewMem(), inj)

	_, err := fs.Create("/000001.log")
	require.ErrorIs(t, err, ErrInjected)
	f, err := fs.Create("/000002.ldb")
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, fs.Rename("/000002.ldb", "/000003.log"), "Rename is not among the ops")
	require.NoError(t, f.Sync(), "the handle keeps the name it was opened with")
	g, err := fs.Open("/000003.log")
	require.NoError(t, err, "Open is not among the ops")
	require.ErrorIs(t, g.Sync(), ErrInjected, "checked before ErrReadOnly: the op never runs")
	require.Equal(t, int64(2), inj.Hits())
}

func TestCounter(t *testing.T) {
	// workload does a small write path: create, write, sync, close, rename, syncdir.
	workload := func(fs FS) error {
		if err := fs.MkdirAll("/db", 0o755); err != nil {
			return err
		}
		f, err := fs.Create("/db/tmp")
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte("MANIFEST-000001\n")); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := fs.Rename("/db/tmp", "/db/CURRENT"); err != nil {
			return err
		}
		return fs.SyncDir("/db")
	}

	all := NewCounter()
	require.NoError(t, workload(WithFaults(NewMem(), all)))
	require.Equal(t, int64(7), all.Count())

	writes := NewCounter(OpWrite, OpSync)
	require.NoError(t, workload(WithFaults(NewMem(), writes)))
	require.Equal(t, int64(2), writes.Count())

	var zero Counter
	require.NoError(t, workload(WithFaults(NewMem(), &zero)))
	require.Equal(t, all.Count(), zero.Count(), "the zero Counter counts every op")

	// Fail each operation in turn: every run must report the injected error.
	for k := int64(1); k <= all.Count(); k++ {
		inj := OnNth(k, ErrInjected)
		err := workload(WithFaults(NewMem(), inj))
		require.ErrorIs(t, err, ErrInjected, "failing op %d", k)
		require.True(t, inj.Fired())
	}
}

func TestInjectedErrorNamesOpAndPath(t *testing.T) {
	fs := WithFaults(NewMem(), OnNth(1, ErrInjected, OpMkdir))
	err := fs.MkdirAll("/a/b", 0o755)
	require.ErrorIs(t, err, ErrInjected)
	require.ErrorContains(t, err, "mkdir /a/b")
}

// TestLockSharedOp: LockShared is its own Op, so a test can fail a reader's lock and not a
// writer's, and the other way round.
func TestLockSharedOp(t *testing.T) {
	fs := WithFaults(NewMem(), OnPath(func(string) bool { return true }, ErrInjected, OpLockShared))
	_, err := fs.LockShared("/LOCK")
	require.ErrorIs(t, err, ErrInjected)
	require.EqualError(t, err, "injected lockshared /LOCK: "+ErrInjected.Error())
	l, err := fs.Lock("/LOCK")
	require.NoError(t, err, "OpLockShared does not fail Lock")
	require.NoError(t, l.Close())

	fs = WithFaults(NewMem(), OnPath(func(string) bool { return true }, ErrInjected, OpLock))
	s, err := fs.LockShared("/LOCK")
	require.NoError(t, err, "OpLock does not fail LockShared")
	_, err = fs.Lock("/LOCK")
	require.ErrorIs(t, err, ErrInjected)
	require.NoError(t, s.Close())
}

func TestRenamePassesOldname(t *testing.T) {
	var got []string
	var mu sync.Mutex
	inj := InjectorFunc(func(op Op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, op.String()+" "+path)
		return nil
	})
	fs := WithFaults(NewMem(), inj)
	writeFile(t, fs, "/old", "x")
	require.NoError(t, fs.Rename("/old", "/new"))
	require.Equal(t, []string{"create /old", "write /old", "sync /old", "close /old", "rename /old"}, got)
}

func TestPartialWrite(t *testing.T) {
	mem := NewMem()
	inj := OnNth(2, &PartialWriteError{N: 3, Err: ErrInjected}, OpWrite)
	f, err := WithFaults(mem, inj).Create("/torn")
	require.NoError(t, err)
	_, err = f.Write([]byte("first "))
	require.NoError(t, err)
	n, err := f.Write([]byte("second"))
	require.Equal(t, 3, n)
	require.ErrorIs(t, err, ErrInjected)
	var pw *PartialWriteError
	require.True(t, errors.As(err, &pw))
	require.Equal(t, "first sec", readFile(t, mem, "/torn"))

	// N larger than the buffer writes the whole buffer and still fails.
	inj = OnNth(1, &PartialWriteError{N: 100, Err: ErrInjected}, OpWrite)
	f, err = WithFaults(mem, inj).Create("/whole")
	require.NoError(t, err)
	n, err = f.Write([]byte("abc"))
	require.Equal(t, 3, n)
	require.ErrorIs(t, err, ErrInjected)
}

func TestFailedCloseStillCloses(t *testing.T) {
	fs := WithFaults(NewMem(), OnNth(1, ErrInjected, OpClose))
	f, err := fs.Create("/f")
	require.NoError(t, err)
	require.ErrorIs(t, f.Close(), ErrInjected)
	_, err = f.Write([]byte("x"))
	require.ErrorIs(t, err, os.ErrClosed, "the inner file was closed despite the injected error")
}

func TestFaultsMappable(t *testing.T) {
	memFile, err := WithFaults(NewMem(), nil).Create("/f")
	require.NoError(t, err)
	_, ok := memFile.(Mappable)
	require.False(t, ok, "a wrapped Mem file is not Mappable")
	require.NoError(t, memFile.Close())

	if _, osMappable := any(&osFile{}).(Mappable); !osMappable {
		return // nothing more to check where OS files cannot be mapped
	}
	fs := WithFaults(NewOS(), OnNth(1, ErrInjected, OpMap))
	name := filepath.Join(t.TempDir(), "f")
	writeFile(t, fs, name, "mapped")
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	m, ok := f.(Mappable)
	require.True(t, ok, "a wrapped OS file stays Mappable")
	_, err = m.Map(6)
	require.ErrorIs(t, err, ErrInjected)
	r, err := m.Map(6)
	require.NoError(t, err)
	require.Equal(t, "mapped", string(r.Bytes()))
	require.NoError(t, r.Close())
}
