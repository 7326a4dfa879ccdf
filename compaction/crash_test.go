package compaction

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/vfs"
	"github.com/stretchr/testify/require"
)

// crashPoint is the filesystem as a power loss would leave it just before one operation.
type crashPoint struct {
	fs    *vfs.MemFS
	op    string
	acked int  // edits acknowledged so far; -1 while Create runs
	busy  bool // a LogAndApply was in progress: its edit may or may not have landed
}

// checkRecovers recovers the VersionSet from fs and requires one of the states in want (or,
// with noDB, a missing CURRENT), and returns the index in want of the state it found (-1 for no
// DB). It then proves the recovered DB usable: one more edit, then recovery again sees it.
func checkRecovers(t *testing.T, fs vfs.FS, noDB bool, want ...string) int {
	t.Helper()
	vs, err := Recover(fs, testDir, testICmp, nil)
	if noDB && errors.Is(err, os.ErrNotExist) {
		return -1
	}
	require.NoError(t, err)
	got := stateOf(vs)
	require.Contains(t, want, got)
	found := slices.Index(want, got)

	var mu sync.Mutex
	var e VersionEdit
	e.AddFile(6, meta(t, vs.NewFileNumber(), 1, "zzz#1,SET", "zzz#1,SET"))
	require.NoError(t, apply(vs, &mu, &e))
	after := stateOf(vs)
	vs = reopen(t, fs, vs)
	require.Equal(t, after, stateOf(vs))
	require.NoError(t, vs.Close())
	return found
}

// runWorkload creates a DB on fs and applies random edits over three opens. It records the
// state after Create and after each acknowledged edit in states. A LogAndApply that fails is
// reported to onFail (with the state its edit would have made) and the workload goes on; a
// Recover or Create that fails ends it.
func runWorkload(t *testing.T, fs vfs.FS, seed uint64, states *[]string, acked *int, busy *bool,
	onFail func(err error, wouldBe string)) {
	rng := rand.New(rand.NewPCG(seed, 3))
	*acked = -1
	vs, err := Create(fs, testDir, testICmp, nil)
	if err != nil {
		onFail(err, "")
		return
	}
	var mu sync.Mutex
	*states = append(*states, stateOf(vs))
	*acked = 0
	for open := 0; open < 3; open++ {
		if open > 0 {
			if vs, err = Recover(fs, testDir, testICmp, nil); err != nil {
				onFail(err, "")
				return
			}
		}
		for i := 0; i < 6; i++ {
			mu.Lock()
			e := randomEdit(rng, vs)
			*busy = true
			err := vs.LogAndApply(e, &mu)
			*busy = false
			if err != nil {
				wouldBe := stateAfter(t, vs, e)
				mu.Unlock()
				onFail(err, wouldBe)
				continue
			}
			*states = append(*states, stateOf(vs))
			*acked = len(*states) - 1
			mu.Unlock()
		}
		_ = vs.Close()
	}
}

// TestCrashAtEveryOperation takes the filesystem as a power loss would leave it before every
// file operation of the workload, and recovers from it. Each must give the state of the last
// acknowledged edit, or of the edit in progress, never a broken DB.
func TestCrashAtEveryOperation(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	mem := newMemDB(t)
	var (
		points []crashPoint
		states []string
		acked  int
		busy   bool
	)
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		points = append(points, crashPoint{fs: mem.CrashClone(), op: op.String() + " " + path, acked: acked, busy: busy})
		return nil
	}))
	runWorkload(t, fs, seed, &states, &acked, &busy, func(err error, _ string) {
		t.Fatalf("seed %d: %v", seed, err)
	})
	points = append(points, crashPoint{fs: mem.CrashClone(), op: "end", acked: acked})
	require.Greater(t, len(points), 100)

	var outcomes [3]int // during an edit: before it, after it; during Create: no DB yet
	for i, p := range points {
		t.Run(fmt.Sprintf("%03d_%s", i, p.op), func(t *testing.T) {
			if p.acked < 0 {
				if checkRecovers(t, p.fs, true, states[0]) < 0 {
					outcomes[2]++
				}
				return
			}
			want := []string{states[p.acked]}
			if p.busy {
				want = append(want, states[p.acked+1])
			}
			if found := checkRecovers(t, p.fs, false, want...); p.busy {
				outcomes[found]++
			}
		})
	}
	t.Logf("crash points inside an edit: %d recovered the state before it, %d after; %d inside Create found no DB",
		outcomes[0], outcomes[1], outcomes[2])
	// A crash inside an edit never shows the edit here: its last step (the MANIFEST's sync, or
	// the directory sync that makes CURRENT's rename durable) is the one that makes it visible,
	// and the next crash point comes after LogAndApply has returned.
	require.True(t, outcomes[0] > 0 && outcomes[2] > 0, "the crash points cover the outcomes")
}

// TestFailEveryOperation fails each file operation of the workload in turn. A failed LogAndApply
// installs nothing and leaves the DB recoverable, both as the filesystem stands and after a
// power loss: recovery sees every acknowledged edit, and the failed edit only when it failed
// after its bytes might have reached the disk and no later edit superseded its MANIFEST.
func TestFailEveryOperation(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	counter := vfs.NewCounter()
	var states []string
	var acked int
	var busy bool
	runWorkload(t, vfs.WithFaults(newMemDB(t), counter), seed, &states, &acked, &busy, func(err error, _ string) {
		t.Fatalf("seed %d: %v", seed, err)
	})
	n := counter.Count()
	require.Greater(t, n, int64(100))

	failedEditSeen := 0
	for k := int64(1); k <= n; k++ {
		t.Run(fmt.Sprintf("op%03d", k), func(t *testing.T) {
			mem := newMemDB(t)
			inj := vfs.OnNth(k, vfs.ErrInjected)
			var states []string
			var acked int
			var busy bool
			var failures int
			failed := ""   // the state the failed edit would have made, if a LogAndApply failed
			failedAt := -1 // len(states) when it failed
			runWorkload(t, vfs.WithFaults(mem, inj), seed, &states, &acked, &busy, func(err error, wouldBe string) {
				failures++
				require.ErrorIs(t, err, vfs.ErrInjected)
				failed, failedAt = wouldBe, len(states)
			})
			require.True(t, inj.Fired())
			require.LessOrEqual(t, failures, 1)
			if acked < 0 {
				// Create failed: there is no DB, or (CURRENT renamed but not synced) an empty one.
				crashed := mem.CrashClone()
				checkRecovers(t, mem, true, "log 0 prev 0 last-seq 0\n")
				checkRecovers(t, crashed, true, "log 0 prev 0 last-seq 0\n")
				return
			}
			want := []string{states[acked]}
			if failed != "" && failedAt == len(states) {
				// Nothing was acknowledged after the failure, so no new MANIFEST superseded the
				// one the failed edit may have reached.
				want = append(want, failed)
			}
			crashed := mem.CrashClone()
			if checkRecovers(t, mem, false, want...) == 1 {
				failedEditSeen++
			}
			checkRecovers(t, crashed, false, want...)
		})
	}
	// A failed sync of an appended edit leaves its bytes in the file; recovery then sees the
	// edit, as a real disk might after fsync reports an error.
	t.Logf("%d of %d injected failures left the failed edit visible to recovery", failedEditSeen, n)
	require.Positive(t, failedEditSeen)
}

// A write of an edit that stops halfway leaves a torn record at the end of the MANIFEST. The
// failed edit is not installed, recovery stops before the torn record, and the next LogAndApply
// starts a fresh MANIFEST instead of appending after it.
func TestPartialManifestWrite(t *testing.T) {
	mem, vs := newTestVersionSet(t)
	require.NoError(t, vs.Close())

	var tear atomic.Bool
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpWrite && tear.Load() {
			tear.Store(false)
			return &vfs.PartialWriteError{N: 10, Err: vfs.ErrInjected}
		}
		return nil
	}))
	vs, err := Recover(fs, testDir, testICmp, nil)
	require.NoError(t, err)
	var mu sync.Mutex
	var e VersionEdit
	e.AddFile(0, meta(t, vs.NewFileNumber(), 10, "a#1,SET", "b#1,SET"))
	require.NoError(t, apply(vs, &mu, &e))
	manifest := vs.ManifestFileNumber()
	before := stateOf(vs)

	tear.Store(true)
	e = VersionEdit{}
	e.AddFile(0, meta(t, vs.NewFileNumber(), 10, "c#1,SET", "d#1,SET"))
	require.ErrorIs(t, apply(vs, &mu, &e), vfs.ErrInjected)
	require.Equal(t, before, stateOf(vs), "nothing installed")

	var logged []string
	opts := &Options{Logf: func(f string, args ...any) { logged = append(logged, fmt.Sprintf(f, args...)) }}
	got, err := Recover(mem, testDir, testICmp, opts)
	require.NoError(t, err)
	require.Equal(t, before, stateOf(got))
	require.Contains(t, logged[0], "torn record")

	e = VersionEdit{}
	e.AddFile(0, meta(t, vs.NewFileNumber(), 10, "e#1,SET", "f#1,SET"))
	require.NoError(t, apply(vs, &mu, &e))
	require.Greater(t, vs.ManifestFileNumber(), manifest, "a fresh MANIFEST after the failure")
	after := stateOf(vs)
	got = reopen(t, mem, vs)
	require.Equal(t, after, stateOf(got))
}

// When a new MANIFEST cannot be completed, it is removed, CURRENT is untouched, and the next
// attempt takes a new file number for its MANIFEST.
func TestFailedNewManifestIsRemoved(t *testing.T) {
	mem, vs := newTestVersionSet(t)
	require.NoError(t, vs.Close())

	inj := vfs.OnNth(1, vfs.ErrInjected, vfs.OpSync)
	vs, err := Recover(vfs.WithFaults(mem, inj), testDir, testICmp, nil)
	require.NoError(t, err)
	var mu sync.Mutex
	require.ErrorIs(t, apply(vs, &mu, &VersionEdit{}), vfs.ErrInjected)
	require.Equal(t, []string{"CURRENT", "MANIFEST-000001"}, listDir(t, mem))
	require.Equal(t, "MANIFEST-000001\n", currentOf(t, mem))
	require.Equal(t, uint64(1), vs.ManifestFileNumber())

	require.NoError(t, apply(vs, &mu, &VersionEdit{}))
	require.Equal(t, uint64(3), vs.ManifestFileNumber(), "MANIFEST-000002 is not reused")
	require.Equal(t, "MANIFEST-000003\n", currentOf(t, mem))
	require.NoError(t, vs.Close())
}

// A table whose directory entry was never synced is durable once an acknowledged edit names it:
// LogAndApply syncs the directory first, for an open MANIFEST as for a new one.
func TestAddedTableEntryDurable(t *testing.T) {
	mem, vs := newTestVersionSet(t)
	var mu sync.Mutex
	for i := 0; i < 2; i++ { // the first edit starts a new MANIFEST, the second appends
		n := vs.NewFileNumber()
		path := filenames.Path(testDir, filenames.Table, n)
		f, err := mem.Create(path)
		require.NoError(t, err)
		_, err = f.Write([]byte("table"))
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
		_, err = mem.CrashClone().Stat(path)
		require.ErrorIs(t, err, os.ErrNotExist, "not durable before the edit")

		var e VersionEdit
		e.AddFile(0, &FileMetadata{Num: n, Size: 5, Smallest: ikey(t, "a#1,SET"), Largest: ikey(t, "b#1,SET")})
		require.NoError(t, apply(vs, &mu, &e))
		_, err = mem.CrashClone().Stat(path)
		require.NoError(t, err, "durable once the edit naming it is")
	}
	require.NoError(t, vs.Close())
}
