package db

// The crash-point driver, and the tests that simulate a power loss at every point of a run
// where what a power loss keeps changes. vfs.MemFS keeps a file's bytes only up to its last
// Sync and a directory entry only once its directory was synced, so a crash clone
// (vfs.MemFS.CrashClone) taken before every Sync and SyncDir, and one at the end, visits every
// distinct state a power loss can leave; a case may take one before other operations too.
//
// A case is a workload (internal/testutil/workload), options, and a plan that writes it
// (crashHarness.write), reopens, compacts, and arms or disarms the capture. Every state must
// open and hold exactly the first p writes for some p between the last synced acknowledged
// write (every write before it is durable too, see Write) and the last write started; point
// reads agree with a scan; no key whose last durable write was a delete comes back; batches are
// whole or absent (their markers agree). Some states get a torn variant that keeps a random
// part of each file's unsynced tail as well (the OS wrote some of its dirty pages before the
// power went), which tears logs and MANIFESTs mid-record; at some, a crash at every sync of the
// recovery itself must lose nothing either.
//
//   - TestCrashRecovery: a small key space, one write in five synced, a clean close and reopen
//     halfway, a state after every tenth write besides.
//   - TestPowerLoss: the reliability workload; a new DB (directory and first MANIFEST), a
//     reopen halfway (a new MANIFEST and CURRENT, log replay), a CompactRange at three
//     quarters, and the flushes and compactions the writes cause. Every kind of sync point (log,
//     table, MANIFEST, CURRENT, directory) must occur.
//   - TestCompactRangeCrashPoints: before every create, sync, close, rename, remove and
//     directory sync of a CompactRange (flush, compactions, MANIFEST edits, deletion of the
//     inputs) of a tree whose churn shadows a compacted fill: everything was synced before, so
//     each state holds exactly the data; keys deleted before the CompactRange must not come back
//     from a table deleted too early or a MANIFEST that lost an edit.
//   - TestBackgroundCompactionCrashPoints: the same at the file operations of synced writes and
//     of the flushes and background compactions they cause: each state holds every write that
//     returned, and at most the one in flight besides.

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

func TestCrashRecovery(t *testing.T) {
	t.Parallel() // long; it shares nothing with the other tests
	n := sized(400, 400, 2000)
	forSeeds(t, sized(3, 3, 20), func(t *testing.T, seed uint64) {
		g := workload.New(seed, "op", crashShape)
		runCrashCase(t, &crashCase{gen: g, ops: g.Take(n), opts: relOpts(), armed: true,
			captureEvery: 10, recoverEvery: 8,
			plan: func(h *crashHarness) {
				h.write(n/2 + 1)
				h.reopen()
				h.writeAll()
			}})
	})
}

func TestPowerLoss(t *testing.T) {
	t.Parallel() // long; it shares nothing with the other tests
	n := sized(600, 150, 3000)
	seed := testSeed(t)
	g := relGen(seed, "p")
	runCrashCase(t, &crashCase{gen: g, ops: g.Take(n), opts: relOpts(), armed: true,
		tornEvery: 5, tornSeed: seed ^ 0x5eed, recoverEvery: 16,
		requireKinds: []string{"log", "table", "MANIFEST", "CURRENT", "directory"},
		plan: func(h *crashHarness) {
			h.write(n/2 + 1)
			h.reopen()
			h.write(n*3/4 - n/2)
			h.compact()
			h.writeAll()
		}})
}

// crashDirOps are the operations before which the compaction crash tests take a state: those
// that change what a power loss keeps (sync, directory sync) and those that change the
// directory.
var crashDirOps = []vfs.Op{vfs.OpCreate, vfs.OpSync, vfs.OpClose, vfs.OpRename, vfs.OpRemove, vfs.OpSyncDir}

// compactionCrashOpts are the options of the compaction crash and fault tests: small
// memtables, so that a few thousand writes make a tree of several levels.
func compactionCrashOpts() *Options { return &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20} }

func TestCompactRangeCrashPoints(t *testing.T) {
	forSeeds(t, 1, func(t *testing.T, seed uint64) {
		g, fill, churn := fillAndChurn(seed, sized(3000, 1000, 3000))
		ops := slices.Concat(fill, churn, []workload.Op{{Kind: workload.Sync, Sync: true}})
		runCrashCase(t, &crashCase{gen: g, ops: ops, opts: compactionCrashOpts(), at: crashDirOps, minPoints: 10,
			plan: func(h *crashHarness) {
				h.write(len(fill))
				h.compact()
				h.writeAll() // the churn, unsynced, and one synced empty write: all durable
				h.arm(true)
				h.compact()
				h.arm(false)
				h.requireLive("after CompactRange")
			}})
	})
}

func TestBackgroundCompactionCrashPoints(t *testing.T) {
	forSeeds(t, 1, func(t *testing.T, seed uint64) {
		g, fill, churn := fillAndChurn(seed, sized(2000, 700, 2000))
		for i := range churn {
			churn[i].Sync = true
		}
		ops := slices.Concat(fill, []workload.Op{{Kind: workload.Sync, Sync: true}}, churn)
		// Log syncs are sampled (clones are cheap; opening hundreds of them is not), but in long
		// mode.
		c := &crashCase{gen: g, ops: ops, opts: compactionCrashOpts(), at: crashDirOps, logSyncEvery: sized(12, 12, 1),
			plan: func(h *crashHarness) {
				h.write(len(fill))
				h.compact()
				h.write(1)
				h.arm(true)
				h.writeAll()
				h.compact() // lets the background work finish, crash points included
				h.arm(false)
			}}
		runCrashCase(t, c)
	})
}

// crashCase is one crash-point scenario; see the file comment.
type crashCase struct {
	gen  *workload.Gen // the workload's generator: its key space is read back, its markers checked
	ops  []workload.Op
	opts *Options
	plan func(h *crashHarness)

	at           []vfs.Op // a state is taken before each of these operations (nil: Sync and SyncDir)
	armed        bool     // take states from the start (otherwise the plan arms)
	logSyncEvery int      // take a state at one log sync in logSyncEvery (0 or 1: at all)
	captureEvery int      // take a state after every captureEvery-th write too
	tornEvery    int      // every tornEvery-th state gets a torn variant, drawn from tornSeed
	tornSeed     uint64
	recoverEvery int      // at every recoverEvery-th state, crash at every sync of its recovery
	requireKinds []string // kinds of sync point (crashKind) that must occur
	minPoints    int      // the fewest states the run must take
}

// crashPoint is a power-loss state and the prefixes of the workload it may hold: at least lo
// writes (the last synced acknowledged write and all before it), at most hi (every write
// started before the state was taken); and, for some, a torn variant (hi tornHi).
type crashPoint struct {
	fs, torn *vfs.MemFS
	lo, hi   int
	tornHi   int
	kind     string // what the operation after it makes durable (crashKind), or "write", "end"
	what     string
}

// ackState tracks what the workload has been told.
type ackState struct {
	mu      sync.Mutex
	started int // writes started
	synced  int // writes up to and including the last synced one that returned
}

func (s *ackState) start(i int) {
	s.mu.Lock()
	s.started = i + 1
	s.mu.Unlock()
}

func (s *ackState) ack(i int, synced bool) {
	s.mu.Lock()
	if synced {
		s.synced = i + 1
	}
	s.mu.Unlock()
}

func (s *ackState) get() (started, synced int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, s.synced
}

// crashHarness runs a crashCase's plan and takes its states.
type crashHarness struct {
	t     *testing.T
	c     *crashCase
	mem   *vfs.MemFS
	fs    vfs.FS
	d     *DB
	next  int // the next write of c.ops
	armed atomic.Bool
	st    ackState

	mu       sync.Mutex
	points   []crashPoint
	counted  int // operations among c.at seen while armed
	logSyncs int
	rng      *rand.Rand // draws the torn tails
}

// MaybeError takes a state before the operations of c.at while armed.
func (h *crashHarness) MaybeError(op vfs.Op, path string) error {
	if !h.armed.Load() || !slices.Contains(h.c.at, op) {
		return nil
	}
	h.mu.Lock()
	h.counted++
	n := h.counted
	sample := true
	if op == vfs.OpSync && strings.HasSuffix(path, ".log") && h.c.logSyncEvery > 1 {
		// Log syncs are the bulk of a synced workload's operations, and alike: sample them.
		h.logSyncs++
		sample = h.logSyncs%h.c.logSyncEvery == 0
	}
	h.mu.Unlock()
	if sample {
		h.capture(crashKind(op, path), fmt.Sprintf("before %s %s (operation %d)", op, path, n))
	}
	return nil
}

// crashKind names what an operation makes durable, for a sync: a log, a table, a MANIFEST, the
// temporary file that becomes CURRENT, or a directory; for another operation, its name.
func crashKind(op vfs.Op, path string) string {
	base := filepath.Base(path)
	switch {
	case op == vfs.OpSyncDir:
		return "directory"
	case op != vfs.OpSync:
		return op.String()
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

// capture takes the state a power loss would leave now.
func (h *crashHarness) capture(kind, what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, lo := h.st.get() // before the clone: these writes were durable before it
	p := crashPoint{fs: h.mem.CrashClone(), lo: lo, kind: kind, what: what}
	p.hi, _ = h.st.get() // after: no write after these had started
	if h.c.tornEvery > 0 && len(h.points)%h.c.tornEvery == 0 {
		// The writer goes on meanwhile: the torn state may hold writes started after the
		// clone, so its upper bound is read after it is made.
		p.torn = crashTear(h.mem, func(n int) int { return h.rng.IntN(n) })
		p.tornHi, _ = h.st.get()
	}
	h.points = append(h.points, p)
}

// crashTear returns the state a power loss right now would leave if the OS had also written
// back a random part (at least one byte) of each file's unsynced tail, tearing logs and
// MANIFESTs mid-record; or nil when no file has unsynced bytes. The state is taken at one
// instant (vfs.MemFS.CrashCloneTorn), as a real power loss is, while the background goroutines
// write.
func crashTear(mem *vfs.MemFS, pick func(int) int) *vfs.MemFS {
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

// write applies the next n writes of the workload.
func (h *crashHarness) write(n int) {
	h.t.Helper()
	for end := h.next + n; h.next < end; h.next++ {
		i, op := h.next, h.c.ops[h.next]
		h.st.start(i)
		require.NoError(h.t, applyOp(h.d, op), "write %d: %v", i, op)
		h.st.ack(i, op.Sync)
		if h.c.captureEvery > 0 && i%h.c.captureEvery == h.c.captureEvery-1 {
			h.capture("write", fmt.Sprintf("after write %d", i))
		}
	}
}

// writeAll applies the rest of the workload.
func (h *crashHarness) writeAll() { h.write(len(h.c.ops) - h.next) }

func (h *crashHarness) compact() { require.NoError(h.t, h.d.CompactRange(nil, nil)) }

func (h *crashHarness) reopen() {
	require.NoError(h.t, h.d.Close())
	h.d = openMem(h.t, h.fs, h.c.opts)
}

func (h *crashHarness) arm(on bool) { h.armed.Store(on) }

// requireLive requires the open DB to hold exactly the writes so far.
func (h *crashHarness) requireLive(what string) {
	requireSame(h.t, workload.Replay(nil, h.c.ops[:h.next]), dump(h.t, h.d, nil), "%s", what)
}

// runCrashCase runs c's plan, taking states, and checks every state; see the file comment.
func runCrashCase(t *testing.T, c *crashCase) {
	t.Helper()
	if c.at == nil {
		c.at = []vfs.Op{vfs.OpSync, vfs.OpSyncDir}
	}
	h := &crashHarness{t: t, c: c, mem: vfs.NewMem(), rng: newRand(c.tornSeed)}
	h.fs = vfs.WithFaults(h.mem, h)
	h.armed.Store(c.armed)
	h.d = openMem(t, h.fs, c.opts)
	c.plan(h)
	h.capture("end", "at the end, before Close")
	require.NoError(t, h.d.Close())
	require.GreaterOrEqual(t, len(h.points), c.minPoints, "too few crash points")

	kinds := map[string]int{}
	var torn, deleted, batches, recoveryCrashes int
	for i, p := range h.points {
		kinds[p.kind]++
		got, dc, bc := checkCrashPoint(t, c, p.fs, p.lo, p.hi, p.what)
		deleted += dc
		batches += bc
		if p.torn != nil {
			checkCrashPoint(t, c, p.torn, p.lo, p.tornHi, p.what+", keeping part of the unsynced bytes")
			torn++
		}
		if c.recoverEvery > 0 && i%c.recoverEvery == 0 {
			recoveryCrashes += checkCrashDuringRecovery(t, p.fs, c.opts, got, p.what)
		}
	}
	for _, k := range c.requireKinds {
		require.Greater(t, kinds[k], 0, "no crash point at a sync of a %s", k)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	t.Logf("%d writes, %d power-loss states (before: %s), %d more with torn unsynced tails; "+
		"%d deleted keys and %d batches checked across them; %d crashes during recoveries; "+
		"nothing acknowledged as synced lost, nothing deleted came back",
		len(c.ops), len(h.points), strings.Join(parts, ", "), torn, deleted, batches, recoveryCrashes)
}

// checkCrashPoint opens fs and requires the first p writes of c.ops for some p in [lo, hi],
// point reads of a sample of the key space that agree, no key deleted by a durable write, and
// whole batches. It returns what the DB holds and how many deleted keys and batches it checked.
func checkCrashPoint(t *testing.T, c *crashCase, fs *vfs.MemFS, lo, hi int, what string) (kv, int, int) {
	t.Helper()
	before := fs.String()
	d, err := openMemErr(fs, c.opts)
	require.NoError(t, err, "%s: Open failed; the directory:\n%s", what, before)
	got := dump(t, d, &ReadOptions{VerifyChecksums: true})
	sample := []string{""}
	for i, step := 0, max(1, c.gen.Shape.Keys/50); i < c.gen.Shape.Keys; i += step {
		sample = append(sample, c.gen.KeyAt(i))
	}
	requireGets(t, d, nil, got, sample, what)
	require.NoError(t, d.Close())
	p := workload.MatchPrefix(nil, c.ops, got, lo, hi)
	if p < 0 {
		t.Logf("%s: no prefix of the workload in [%d, %d] matches; the directory:\n%s\nthe LOG:\n%s", what, lo, hi, before, infoLogs(fs))
		requireSame(t, workload.Replay(nil, c.ops[:lo]), got, "%s: compared with the first %d writes (the last synced one included)", what, lo)
		require.FailNow(t, "no prefix matches", what)
	}
	// Apart from the prefix match: no key whose last durable write was a delete, and that no
	// write in flight wrote again, is there.
	last := map[string]bool{} // key -> its last durable write was a delete
	for _, op := range c.ops[:lo] {
		for _, e := range op.Entries {
			last[e.Key] = e.Delete
		}
	}
	for k := range workload.Touched(c.ops[lo:hi]) {
		delete(last, k)
	}
	deleted := 0
	for k, del := range last {
		if del {
			deleted++
			_, back := got[k]
			require.False(t, back, "%s: key %s, deleted by a durable write, came back", what, short(k))
		}
	}
	batches, err := c.gen.CheckMarkers(c.ops[:hi], got, p)
	require.NoError(t, err, what)
	return got, deleted, batches
}

// checkCrashDuringRecovery opens fs again, takes a crash clone before every sync of that
// recovery, and requires each of them to open with exactly want. It returns how many it
// checked.
func checkCrashDuringRecovery(t *testing.T, fs *vfs.MemFS, opts *Options, want kv, what string) int {
	t.Helper()
	var clones []*vfs.MemFS
	ffs := vfs.WithFaults(fs, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync || op == vfs.OpSyncDir {
			clones = append(clones, fs.CrashClone()) // Open syncs from its own goroutine only
		}
		return nil
	}))
	d, err := openMemErr(ffs, opts)
	require.NoError(t, err, what)
	require.NoError(t, d.Close())
	for i, c := range clones {
		d, err := openMemErr(c, opts)
		require.NoError(t, err, "%s, then a crash at sync %d of its recovery:\n%s", what, i, c)
		requireSame(t, want, dump(t, d, nil), "%s, then a crash at sync %d of its recovery", what, i)
		require.NoError(t, d.Close())
	}
	return len(clones)
}
