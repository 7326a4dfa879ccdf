package db

// TestPowerLoss: the reliability workload (reliability_workload_test.go) on vfs.MemFS, with a
// simulated power loss at every sync point of the run, in turn. MemFS keeps a file's bytes only
// up to its last Sync and a directory entry only once its directory was synced, so what a power
// loss leaves changes only at a Sync or SyncDir: a crash clone taken before each of them (and
// one at the end) visits every distinct state a power loss can leave. Each sync point is named
// by what is synced: a log, a table, a MANIFEST, the temporary file that becomes CURRENT, or a
// directory (a new DB's parent, new logs, new tables and MANIFESTs, CURRENT's rename). The run
// opens a new DB (directory and first MANIFEST), closes and reopens it halfway (a new MANIFEST
// and CURRENT, log replay) and runs a CompactRange at three quarters, besides the flushes and
// compactions the writes cause.
//
// Each crash state must open and hold exactly the first p writes for some p between the last
// synced acknowledged write (every write before it is durable too, see Write) and the last
// write started; batches are whole or absent (their markers agree); and, checked separately,
// no key whose last write among the durable ones was a delete comes back. A second variant of
// every fifth state keeps a random part of each file's unsynced tail as well (the OS wrote some
// of its dirty pages before the power went), which tears logs and MANIFESTs mid-record. For some
// states, a crash at every sync of the recovery itself must lose nothing either.

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// plPoint is a power-loss state: the crash clone, the bounds of the prefix it may hold, and a
// torn variant (or nil).
type plPoint struct {
	fs, torn *vfs.MemFS
	lo, hi   int
	tornHi   int    // hi of the torn variant
	kind     string // "log", "table", "MANIFEST", "CURRENT", "directory", "end"
	what     string
}

// plKind names what a sync makes durable.
func plKind(op vfs.Op, path string) string {
	base := filepath.Base(path)
	switch {
	case op == vfs.OpSyncDir:
		return "directory"
	case strings.HasSuffix(base, ".log"):
		return "log"
	case strings.HasSuffix(base, ".ldb"):
		return "table"
	case strings.HasPrefix(base, "MANIFEST-"):
		return "MANIFEST"
	case strings.HasSuffix(base, ".dbtmp"):
		return "CURRENT"
	}
	return "other " + base
}

// plTear returns the state a power loss right now would leave if the OS had also written back a
// random part (at least one byte) of each file's unsynced tail, tearing logs and MANIFESTs
// mid-record; or nil when no file has unsynced bytes. The state is taken at one instant
// (vfs.MemFS.CrashCloneTorn), as a real power loss is, while the background goroutines write.
func plTear(mem *vfs.MemFS, pick func(int) int) *vfs.MemFS {
	changed := false
	torn := mem.CrashCloneTorn(func(n int) int {
		changed = true
		return min(1+pick(n), n)
	})
	if !changed {
		return nil
	}
	return torn
}

func plRead(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func TestPowerLoss(t *testing.T) {
	n := 600
	if testing.Short() {
		n = 150
	}
	if longMode() {
		n = 3000
	}
	seed := testSeed(t)
	ops := newRelGen(seed, "p").take(n)
	rng := newRand(seed ^ 0x5eed)

	mem := vfs.NewMem()
	var (
		st     ackState
		pmu    sync.Mutex
		points []plPoint
		syncs  int
	)
	capture := func(kind, what string) {
		_, lo := st.get() // before the clone: these writes were durable before it
		clone := mem.CrashClone()
		acked, _ := st.get() // after: no write after these had started
		pmu.Lock()
		defer pmu.Unlock()
		p := plPoint{fs: clone, lo: lo, hi: min(acked+1, len(ops)), kind: kind, what: what}
		if syncs%5 == 0 {
			// The writer goes on meanwhile: the torn state may hold writes started after the
			// clone, so its upper bound is read after it is made.
			p.torn = plTear(mem, func(n int) int { return rng.IntN(n) })
			acked, _ := st.get()
			p.tornHi = min(acked+1, len(ops))
		}
		syncs++
		points = append(points, p)
	}
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync || op == vfs.OpSyncDir {
			capture(plKind(op, path), fmt.Sprintf("before %s %s", op, path))
		}
		return nil
	}))
	d := openMem(t, fs, relOpts())
	for i, op := range ops {
		require.NoError(t, op.apply(d), "write %d: %v", i, op)
		st.ack(i, op.sync)
		switch i {
		case len(ops) / 2:
			require.NoError(t, d.Close())
			d = openMem(t, fs, relOpts())
		case len(ops) * 3 / 4:
			require.NoError(t, d.CompactRange(nil, nil))
		}
	}
	capture("end", "at the end, before Close")
	require.NoError(t, d.Close())

	kinds := map[string]int{}
	var tornChecked, deletedChecked, batchesChecked, recoveryCrashes int
	g := &relGen{tag: "p"}
	for i, p := range points {
		kinds[p.kind]++
		got := plCheck(t, ops, p.fs, p.lo, p.hi, p.what)
		dc, bc := plCheckDeletesAndBatches(t, g, ops, got, p.lo, p.hi, p.what)
		deletedChecked += dc
		batchesChecked += bc
		if p.torn != nil {
			tg := plCheck(t, ops, p.torn, p.lo, p.tornHi, p.what+", keeping part of the unsynced bytes")
			plCheckDeletesAndBatches(t, g, ops, tg, p.lo, p.tornHi, p.what+", torn")
			tornChecked++
		}
		if i%16 == 0 {
			recoveryCrashes += plCrashDuringRecovery(t, p.fs, got, p.what)
		}
	}
	for _, k := range []string{"log", "table", "MANIFEST", "CURRENT", "directory"} {
		require.Greater(t, kinds[k], 0, "no crash point at a sync of a %s", k)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	t.Logf("%d writes, %d power-loss states (before the sync of: %s), %d more with torn unsynced tails; "+
		"%d deleted keys and %d batches checked across them; %d crashes during recoveries; "+
		"nothing acknowledged as synced lost, nothing deleted came back",
		len(ops), len(points), strings.Join(parts, ", "), tornChecked, deletedChecked, batchesChecked, recoveryCrashes)
}

// plCheck opens fs and requires the first p writes of ops for some p in [lo, hi]; it returns
// what the DB holds.
func plCheck(t *testing.T, ops []crashOp, fs *vfs.MemFS, lo, hi int, what string) kv {
	t.Helper()
	before := fs.String()
	d, err := openMemErr(fs, relOpts())
	require.NoError(t, err, "%s: Open failed; the directory:\n%s", what, before)
	got := dump(t, d, &ReadOptions{VerifyChecksums: true})
	require.NoError(t, d.Close())
	if relMatchPrefix(nil, ops, got, lo, hi) < 0 {
		info, _ := plRead(fs, "/db/LOG")
		old, _ := plRead(fs, "/db/LOG.old")
		t.Logf("%s: no prefix of the workload in [%d, %d] matches; the directory:\n%s\nLOG.old:\n%s\nLOG:\n%s", what, lo, hi, before, old, info)
		requireSame(t, relModel(nil, ops[:lo]), got, "%s: compared with the first %d writes (the last synced one included)", what, lo)
		require.FailNow(t, "no prefix matches", what)
	}
	return got
}

// plCheckDeletesAndBatches checks, apart from the prefix match, that no key deleted by the
// durable writes (the first lo) and not written again by a write in flight is there, and that
// batches are whole. It returns how many deleted keys and batches it checked.
func plCheckDeletesAndBatches(t *testing.T, g *relGen, ops []crashOp, got kv, lo, hi int, what string) (int, int) {
	t.Helper()
	last := map[string]bool{} // key -> last durable write was a delete
	for _, op := range ops[:lo] {
		for _, e := range op.ents {
			last[e.key] = e.del
		}
	}
	for _, op := range ops[lo:hi] {
		for _, e := range op.ents {
			delete(last, e.key) // the write in flight may have changed it
		}
	}
	deleted := 0
	for k, del := range last {
		if del {
			deleted++
			_, back := got[k]
			require.False(t, back, "%s: key %s, deleted by a durable write, came back", what, short(k))
		}
	}
	p := relMatchPrefix(nil, ops, got, lo, hi)
	batches, err := relCheckMarkers(g, ops[:hi], got, p)
	require.NoError(t, err, what)
	return deleted, batches
}

// plCrashDuringRecovery opens fs again, takes a crash clone before every sync of that recovery,
// and requires each of them to open with exactly want. It returns how many it checked.
func plCrashDuringRecovery(t *testing.T, fs *vfs.MemFS, want kv, what string) int {
	t.Helper()
	var clones []*vfs.MemFS
	ffs := vfs.WithFaults(fs, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync || op == vfs.OpSyncDir {
			clones = append(clones, fs.CrashClone()) // Open syncs from its own goroutine only
		}
		return nil
	}))
	d, err := openMemErr(ffs, relOpts())
	require.NoError(t, err, what)
	require.NoError(t, d.Close())
	for i, c := range clones {
		d, err := openMemErr(c, relOpts())
		require.NoError(t, err, "%s, then a crash at sync %d of its recovery:\n%s", what, i, c)
		requireSame(t, want, dump(t, d, nil), "%s, then a crash at sync %d of its recovery", what, i)
		require.NoError(t, d.Close())
	}
	return len(clones)
}
