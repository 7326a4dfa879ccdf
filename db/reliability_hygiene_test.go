package db

// Resource hygiene (issue 8, item 6): after Close, nothing of a DB is left running or open.
//
//   - TestCloseLeavesNothing: on the real filesystem, a DB that wrote, flushed, compacted, was read
//     with iterators and snapshots and then closed; one whose Open failed (a damaged directory, a
//     held lock); one closed after a background error. After each, no goroutine started since
//     the test began runs Strata code (runtime stacks), and /proc/self/fd lists no more
//     descriptors than before.
//   - TestOpenCloseLoop: a DB opened, read (and one time in five written) and closed 10,000 times
//     in one process (1,000 with -short), on MemFS and one time in 25 on the real filesystem: the
//     heap after a GC, the goroutines and the descriptors stay flat.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

// goroutineStacks returns the stack of every goroutine, by goroutine id.
func goroutineStacks() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		rest, ok := strings.CutPrefix(s, "goroutine ")
		if !ok {
			continue
		}
		idStr, _, _ := strings.Cut(rest, " ")
		if id, err := strconv.Atoi(idStr); err == nil {
			out[id] = s
		}
	}
	return out
}

// strataCode reports whether a goroutine's stack has a frame of this module's code outside test
// files: a function line of the module followed by its file line, which is not a _test.go file.
// ("created by" lines say who started the goroutine, not what it runs, and do not count.)
func strataCode(stack string) bool {
	lines := strings.Split(stack, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "github.com/stratadb/strata/") && !strings.Contains(lines[i+1], "_test.go:") {
			return true
		}
	}
	return false
}

// leakedGoroutines waits up to a second for every goroutine that is not in before and runs
// Strata code to end, and returns the stacks of those that do not.
func leakedGoroutines(before map[int]string) []string {
	deadline := time.Now().Add(time.Second)
	for {
		var leaked []string
		for id, s := range goroutineStacks() {
			if _, old := before[id]; !old && strataCode(s) {
				leaked = append(leaked, s)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openFDs returns the number of open descriptors of this process, or -1 where /proc/self/fd
// does not exist.
func openFDs(t testing.TB) int {
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(names) - 1 // ReadDir's own descriptor
}

// hygieneCheck runs fn and requires that afterwards no goroutine of Strata is left and no more
// descriptors are open than before.
func hygieneCheck(t *testing.T, what string, fn func()) {
	t.Helper()
	runtime.GC()
	before := goroutineStacks()
	fds := openFDs(t)
	fn()
	if leaked := leakedGoroutines(before); len(leaked) > 0 {
		t.Fatalf("%s: %d goroutines of Strata still running after Close:\n%s", what, len(leaked), strings.Join(leaked, "\n\n"))
	}
	if fds >= 0 {
		// Descriptors close synchronously; give the runtime's poller a moment anyway.
		deadline := time.Now().Add(time.Second)
		for openFDs(t) > fds && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if now := openFDs(t); now > fds {
			links := ""
			entries, _ := os.ReadDir("/proc/self/fd")
			for _, e := range entries {
				l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
				links += "\n  " + e.Name() + " -> " + l
			}
			t.Fatalf("%s: %d descriptors open before, %d after Close:%s", what, fds, now, links)
		}
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	ops := relGen(testSeed(t), "h").Take(300)
	model := workload.Replay(nil, ops)
	dir := filepath.Join(t.TempDir(), "db")
	// Warm up: the runtime opens its own descriptors (the poller) on first use.
	d, err := Open(dir, relOpts())
	require.NoError(t, err)
	require.NoError(t, d.Close())

	hygieneCheck(t, "a DB that wrote, flushed, compacted and read", func() {
		d, err := Open(dir, relOpts())
		require.NoError(t, err)
		for _, op := range ops {
			require.NoError(t, applyOp(d, op))
		}
		s := d.NewSnapshot()
		it := d.NewIterator(&ReadOptions{Snapshot: s})
		require.True(t, it.First())
		require.NoError(t, d.CompactRange(nil, nil))
		requireSame(t, model, dump(t, d, &ReadOptions{VerifyChecksums: true}), "after the run")
		require.NoError(t, it.Close())
		s.Release()
		require.NoError(t, d.Close())
	})
	hygieneCheck(t, "a DB reopened with a log to replay, closed right away", func() {
		d, err := Open(dir, relOpts())
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("x"), []byte("y"), nil))
		require.NoError(t, d.Close())
		d, err = Open(dir, relOpts())
		require.NoError(t, err)
		require.NoError(t, d.Close())
	})
	hygieneCheck(t, "an Open that fails on a held lock", func() {
		d, err := Open(dir, relOpts())
		require.NoError(t, err)
		_, err = Open(dir, relOpts())
		require.ErrorIs(t, err, ErrLocked)
		require.NoError(t, d.Close())
	})
	hygieneCheck(t, "an Open that fails on a damaged directory", func() {
		require.NoError(t, os.Rename(filepath.Join(dir, "CURRENT"), filepath.Join(dir, "CURRENT.away")))
		_, err := Open(dir, relOpts())
		require.ErrorIs(t, err, ErrCorruption)
		require.NoError(t, os.Rename(filepath.Join(dir, "CURRENT.away"), filepath.Join(dir, "CURRENT")))
	})
	hygieneCheck(t, "a DB closed after a background error", func() {
		o := relOpts()
		o.FS = vfs.WithFaults(vfs.NewOS(), vfs.OnPath(func(p string) bool { return strings.HasSuffix(p, ".ldb") },
			vfs.ErrInjected, vfs.OpSync))
		d, err := Open(dir, o)
		require.NoError(t, err)
		var werr error
		for _, op := range ops {
			if werr = applyOp(d, op); werr != nil {
				break
			}
		}
		if werr == nil {
			werr = d.CompactRange(nil, nil)
		}
		require.ErrorIs(t, werr, vfs.ErrInjected, "a failed table sync must surface")
		require.Error(t, d.Close())
	})
	hygieneCheck(t, "Repair", func() {
		require.NoError(t, Repair(dir, relOpts()))
		d, err := Open(dir, relOpts())
		require.NoError(t, err)
		require.NoError(t, d.Close())
	})
}

func TestOpenCloseLoop(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	mem := vfs.NewMem()
	osDir := filepath.Join(t.TempDir(), "db")
	opts := &Options{WriteBufferSize: 64 << 10, BlockCacheSize: 64 << 10, MaxOpenFiles: 20}
	open := func(i int) *DB {
		if i%25 == 24 {
			d, err := Open(osDir, opts)
			require.NoError(t, err)
			return d
		}
		return openMem(t, mem, opts)
	}
	cycle := func(i int) {
		d := open(i)
		// One cycle in five writes (so the next Open replays a log into a table, and tables
		// pile up and compact), and so does every cycle on the real filesystem; every cycle
		// reads.
		k, want := fmt.Sprintf("key%03d", i/5%100), fmt.Sprintf("value %d", i/5*5)
		if i%25 == 24 {
			k, want = "os", fmt.Sprintf("value %d", i)
		}
		if i%5 == 0 || i%25 == 24 {
			require.NoError(t, d.Put([]byte(k), []byte(want), nil))
		}
		v, err := d.Get([]byte(k), nil)
		require.NoError(t, err)
		require.Equal(t, want, string(v))
		it := d.NewIterator(nil)
		require.True(t, it.First())
		require.NoError(t, it.Close())
		require.NoError(t, d.Close())
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// Warm up: the first cycles grow the DB's files, caches and pools to their steady size.
	warm := n / 10
	for i := range warm {
		cycle(i)
	}
	heap0, fds0, g0 := heap(), openFDs(t), runtime.NumGoroutine()
	start := time.Now()
	var samples []uint64
	for i := warm; i < n; i++ {
		cycle(i)
		if (i-warm+1)%(n/10) == 0 {
			samples = append(samples, heap())
		}
	}
	heap1, fds1, g1 := heap(), openFDs(t), runtime.NumGoroutine()
	t.Logf("%d opens and closes (%d on the real filesystem) in %v: heap %d KiB after the first %d, %d KiB at the end "+
		"(samples %v KiB); descriptors %d then %d; goroutines %d then %d",
		n, n/25, time.Since(start).Round(time.Millisecond), heap0>>10, warm, heap1>>10, kib(samples), fds0, fds1, g0, g1)
	require.Equal(t, fds0, fds1, "descriptors leaked")
	require.LessOrEqual(t, g1, g0, "goroutines leaked")
	// The heap may move with the MemFS's files (a log, a table or two); it must not grow with
	// the number of opens. 1 MiB is far below one leaked memtable arena or block cache.
	require.Less(t, int64(heap1)-int64(heap0), int64(1<<20), "the heap grew by %d KiB over %d opens", (int64(heap1)-int64(heap0))>>10, n-warm)
}

func kib(s []uint64) []uint64 {
	out := make([]uint64, len(s))
	for i, v := range s {
		out[i] = v >> 10
	}
	return out
}
