package db

// Faults that fail every file operation from some point of a run on, on vfs.MemFS and, for a
// few points, on the real filesystem; then the directory, reopened on a healthy filesystem,
// must hold every acknowledged write (and at most the one write in flight), and no write may be
// acknowledged after one failed:
//
//   - TestProcessKill: the process is killed at a random file operation of the run (every
//     operation fails from then on; the kernel still has what it was handed), synced or not.
//   - TestFaultENOSPC: the disk fills at some point of a run (every write, sync, create and log
//     space reservation fails with ENOSPC from then on): every failed write returns an error
//     matching syscall.ENOSPC that says so, Close does not hang, and once space returns the DB
//     takes new writes.
//
// And TestFaultInjectionMmap fails Map (the one operation MemFS lacks) on the real filesystem.
// The fault-phase driver (every operation failing in turn) is in reliability_fault_test.go.

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

func TestProcessKill(t *testing.T) {
	runs, n := sized(40, 40, 200), sized(300, 300, 1000)
	seed := testSeed(t)
	rng := newRand(seed)
	ops := workload.New(seed, "op", crashShape).Take(n)
	total := countFileOps(t, ops, vfs.NewCounter())
	for run := range runs {
		killAt := 1 + rng.Int64N(total)
		t.Run(fmt.Sprintf("kill-at-op=%d", killAt), func(t *testing.T) {
			mem := vfs.NewMem()
			var count atomic.Int64
			var killed atomic.Bool
			fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(vfs.Op, string) error {
				if count.Add(1) >= killAt {
					killed.Store(true)
				}
				if killed.Load() {
					return vfs.ErrInjected
				}
				return nil
			}))
			acked := 0
			d, err := openMemErr(fs, relOpts())
			if err == nil {
				acked = writeThroughFailure(t, d, ops, nil)
				killed.Store(true)
				// The process is gone: every file operation fails from now on, so Close only
				// waits for the DB's goroutines to stop and releases the lock (as the kernel
				// would); it changes nothing in mem.
				_ = d.Close()
			}
			d, err = openMemErr(mem, relOpts())
			require.NoError(t, err, "run %d: reopen after a kill at file operation %d of %d:\n%s", run, killAt, total, mem)
			requireAckedPrefix(t, d, ops, acked, fmt.Sprintf("after a kill at file operation %d of %d", killAt, total))
			require.NoError(t, d.Close())
		})
	}
}

func TestFaultENOSPC(t *testing.T) {
	t.Parallel() // long; it shares nothing with the other tests
	seed := testSeed(t)
	ops := relGen(seed, "e").Take(200)
	full := []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpCreate, vfs.OpAllocate}
	n := countFileOps(t, ops, vfs.NewCounter(full...))

	runs := 0
	run := func(fs vfs.FS, dir string, k int64, reopen func() (*DB, error)) {
		inj := vfs.OnNth(k, syscall.ENOSPC, full...).Sticky()
		o := relOpts()
		o.FS = vfs.WithFaults(fs, inj)
		what := fmt.Sprintf("disk full from operation %d of %d", k, n)
		d, err := Open(dir, o)
		if err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC, "%s: Open", what)
		}
		acked := 0
		if err == nil {
			acked = writeThroughFailure(t, d, ops, func(i int, err error) {
				require.ErrorIs(t, err, syscall.ENOSPC, "%s: write %d", what, i)
				require.Contains(t, err.Error(), "no space left on device", what)
			})
			_ = d.Close()
		}
		if !inj.Fired() {
			return
		}
		runs++
		// Space returns.
		d, err = reopen()
		require.NoError(t, err, "%s: reopen once space returned", what)
		requireAckedPrefix(t, d, ops, acked, what+", reopened")
		require.NoError(t, d.Put([]byte("after"), []byte("space returned"), &WriteOptions{Sync: true}), what)
		require.NoError(t, d.Close())
	}
	samples := int64(40)
	if raceEnabled {
		samples = 15
	}
	for _, k := range faultSample(n, samples) {
		mem := vfs.NewMem()
		run(mem, "/db", k, func() (*DB, error) { return openMemErr(mem, relOpts()) })
	}
	memRuns := runs
	for _, k := range []int64{1, n / 3, n * 2 / 3} {
		dir := filepath.Join(t.TempDir(), "db")
		run(vfs.NewOS(), dir, k, func() (*DB, error) { return Open(dir, relOpts()) })
	}
	t.Logf("%d operations in a run; disk full from %d points on MemFS and %d on the real filesystem: every write after it failed with ENOSPC, every acknowledged write came back", n, memRuns, runs-memRuns)
}

// countFileOps runs ops on a new MemFS through counter and returns its count: the file
// operations of a whole run, to pick faults among.
func countFileOps(t *testing.T, ops []workload.Op, counter *vfs.Counter) int64 {
	d := openMem(t, vfs.WithFaults(vfs.NewMem(), counter), relOpts())
	for _, op := range ops {
		require.NoError(t, applyOp(d, op))
	}
	require.NoError(t, d.Close())
	return counter.Count()
}

// writeThroughFailure writes ops to d, each in turn, and returns how many were acknowledged
// before the first failed one; once a write failed, every later one must fail too. check, when
// set, sees each failed write's error.
func writeThroughFailure(t *testing.T, d *DB, ops []workload.Op, check func(i int, err error)) int {
	t.Helper()
	acked, failed := 0, false
	for i, op := range ops {
		err := applyOp(d, op)
		if err == nil {
			require.False(t, failed, "write %d acknowledged after a write failed", i)
			acked++
			continue
		}
		failed = true
		if check == nil {
			break
		}
		check(i, err)
	}
	return acked
}

// requireAckedPrefix requires d to hold the first acked writes of ops, or those and the one in
// flight.
func requireAckedPrefix(t *testing.T, d *DB, ops []workload.Op, acked int, what string) {
	t.Helper()
	got := dump(t, d, nil)
	if workload.MatchPrefix(nil, ops, got, acked, min(acked+1, len(ops))) < 0 {
		requireSame(t, workload.Replay(nil, ops[:acked]), got, "%s, with %d writes acknowledged", what, acked)
	}
}

// TestFaultInjectionMmap fails Map (the one operation MemFS lacks) on the real filesystem: the
// first, a middle one and every one. Readers fall back to ReadAt, so nothing may fail: not the
// flushes and compactions (which read their tables back), not the reads.
func TestFaultInjectionMmap(t *testing.T) {
	g := relGen(testSeed(t), "mm")
	ops := g.Take(250)
	model := workload.Replay(nil, ops)
	run := func(inj vfs.Injector) {
		dir := t.TempDir()
		o := relOpts()
		o.FS = vfs.WithFaults(vfs.NewOS(), inj)
		d, err := Open(dir, o)
		require.NoError(t, err)
		faultPrefill(t, d, ops)
		require.NoError(t, d.CompactRange(nil, nil))
		requireSame(t, model, dump(t, d, &ReadOptions{VerifyChecksums: true}), "after a failed map")
		for k, v := range model {
			got, err := d.Get([]byte(k), nil)
			require.NoError(t, err)
			require.Equal(t, v, string(got))
		}
		require.NoError(t, d.Close())
		d, err = Open(dir, o)
		require.NoError(t, err)
		requireSame(t, model, dump(t, d, nil), "reopened")
		require.NoError(t, d.Close())
	}
	counter := vfs.NewCounter(vfs.OpMap)
	run(counter)
	n := counter.Count()
	require.Greater(t, n, int64(0), "no table was mapped: is mmap not used on this system?")
	injected := 0
	for _, k := range []int64{1, n / 2, n} {
		inj := vfs.OnNth(k, vfs.ErrInjected, vfs.OpMap)
		run(inj)
		if inj.Fired() {
			injected++
		}
	}
	all := vfs.OnPath(func(string) bool { return true }, vfs.ErrInjected, vfs.OpMap)
	run(all)
	t.Logf("%d maps in a run; failed the first, a middle and the last one (%d fired), then all %d of a run", n, injected, all.Hits())
}
