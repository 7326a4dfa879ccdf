package db

// Crash and fault tests of compaction and of the MANIFEST writes it makes, on vfs.MemFS.
//
//   - TestCompactRangeCrashPoints: before every create, sync, close, rename, remove and directory
//     sync of a CompactRange (flush, compactions, MANIFEST edits, deletion of the inputs), take the
//     filesystem a power loss would leave (CrashClone) and open it: every write was synced before
//     the CompactRange, so each must hold exactly the acknowledged data. In particular keys
//     deleted before the CompactRange, whose deletion markers and older values it drops, must not
//     come back from a table deleted too early or a MANIFEST that lost an edit.
//   - TestBackgroundCompactionCrashPoints: the same at the file operations of synced writes with
//     the flushes and background compactions they cause: each crash must hold every write that
//     returned, and at most the one in flight besides.
//   - TestCompactionFaults: fail each file operation of a CompactRange in turn (vfs.OnNth). An
//     error must stick: writes and compactions are refused from then on. Reopening the healthy
//     filesystem (and a crash of it) must give back every acknowledged write.

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// ccOpts are the options of the crash tests: small memtables, so a few thousand writes make a
// tree of several levels.
func ccOpts() *Options { return &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20} }

// ccOp is one write of a crash workload: a put (del false) or a delete of key.
type ccOp struct {
	key, value string
	del        bool
}

func ccApply(model map[string]string, ops []ccOp) {
	for _, op := range ops {
		if op.del {
			delete(model, op.key)
		} else {
			model[op.key] = op.value
		}
	}
}

// ccModelAt returns the contents after the first n writes of ops.
func ccModelAt(ops [][]ccOp, n int) map[string]string {
	m := map[string]string{}
	for _, w := range ops[:n] {
		ccApply(m, w)
	}
	return m
}

// ccWrite applies w to d as one batch (or one Put or Delete when it has one op).
func ccWrite(d *DB, w []ccOp, wo *WriteOptions) error {
	if len(w) == 1 {
		if w[0].del {
			return d.Delete([]byte(w[0].key), wo)
		}
		return d.Put([]byte(w[0].key), []byte(w[0].value), wo)
	}
	var b Batch
	for _, op := range w {
		if op.del {
			b.Delete([]byte(op.key))
		} else {
			b.Put([]byte(op.key), []byte(op.value))
		}
	}
	return d.Write(&b, wo)
}

// ccGenerate returns the writes of the crash workload: fill nKeys keys, then overwrite about a
// third and delete about a third of them (single writes and batches). The fill ends with a
// CompactRange in ccBuild, so the deletions shadow values in deeper levels.
func ccGenerate(rng *rand.Rand, nKeys int) (fill, churn [][]ccOp) {
	val := func(k string, gen int) string {
		return fmt.Sprintf("%s.v%d.%s", k, gen, strings.Repeat(string(rune('a'+rng.IntN(26))), 50+rng.IntN(800)))
	}
	for i := 0; i < nKeys; i++ {
		k := fmt.Sprintf("k%05d", rng.IntN(nKeys*2))
		fill = append(fill, []ccOp{{key: k, value: val(k, 1)}})
	}
	for i := 0; i < nKeys; {
		n := 1
		if rng.IntN(4) == 0 {
			n = 2 + rng.IntN(10)
		}
		var w []ccOp
		for j := 0; j < n; j++ {
			k := fmt.Sprintf("k%05d", rng.IntN(nKeys*2))
			if rng.IntN(2) == 0 {
				w = append(w, ccOp{key: k, del: true})
			} else {
				w = append(w, ccOp{key: k, value: val(k, 2+i)})
			}
		}
		churn = append(churn, w)
		i += n
	}
	return fill, churn
}

// ccBuild writes fill, compacts it down, writes churn (unsynced), and makes everything durable
// with one synced empty write. It returns the model of what d holds.
func ccBuild(t *testing.T, d *DB, fill, churn [][]ccOp) map[string]string {
	t.Helper()
	for _, w := range fill {
		require.NoError(t, ccWrite(d, w, nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	for _, w := range churn {
		require.NoError(t, ccWrite(d, w, nil))
	}
	require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
	return ccModelAt(append(fill, churn...), len(fill)+len(churn))
}

// ccRequireContents opens the DB on fs and requires exactly model, through a scan and through
// point reads of keys present and absent (a Get takes another path through the tree: one file
// per level, found by key).
func ccRequireContents(t *testing.T, fs vfs.FS, model map[string]string, what string) {
	t.Helper()
	d, err := ccOpenErr(fs, ccOpts())
	require.NoError(t, err, "%s: open", what)
	cmRequireContents(t, d, nil, model, what)
	for i := 0; i < 2*len(model); i += 1 + len(model)/50 {
		k := fmt.Sprintf("k%05d", i)
		got, err := d.Get([]byte(k), nil)
		if v, ok := model[k]; ok {
			require.NoError(t, err, "%s: Get(%q)", what, k)
			require.Equal(t, v, string(got), "%s: Get(%q)", what, k)
		} else {
			require.ErrorIs(t, err, ErrNotFound, "%s: Get(%q) of a deleted key found %.40q", what, k, got)
		}
	}
	require.NoError(t, d.Close(), what)
}

// ccOpenErr opens "/db" on fs.
func ccOpenErr(fs vfs.FS, opts *Options) (*DB, error) {
	o := *opts
	o.fs = fs
	return Open("/db", &o)
}

// ccCrashOps are the operations before which the crash tests take a clone: the ones that change
// what a power loss keeps (sync, directory sync) and those that change the directory.
var ccCrashOps = []vfs.Op{vfs.OpCreate, vfs.OpSync, vfs.OpClose, vfs.OpRename, vfs.OpRemove, vfs.OpSyncDir}

// ccCrashPoint is the filesystem a power loss would have left before one file operation.
type ccCrashPoint struct {
	n     int64 // the operation's number among ccCrashOps, from 1
	op    string
	fs    *vfs.MemFS
	acked int  // writes acknowledged so far
	busy  bool // a write was in flight
}

// ccRecorder is an Injector that, while armed, counts the operations among ccCrashOps (with a
// vfs.Counter) and takes a crash clone of mem before each of the ones selected.
type ccRecorder struct {
	mem     *vfs.MemFS
	counter *vfs.Counter
	armed   atomic.Bool
	every   int64 // take a clone at every every-th sync of a log (1: all), at every other operation

	logSyncs int64 // guarded by mu
	state    func() (acked int, busy bool)

	mu     sync.Mutex
	points []ccCrashPoint
}

func (r *ccRecorder) MaybeError(op vfs.Op, path string) error {
	if !r.armed.Load() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.counter.Count()
	r.counter.MaybeError(op, path)
	n := r.counter.Count()
	if n == before {
		return nil
	}
	if strings.HasSuffix(path, ".log") && op == vfs.OpSync {
		// Log syncs are the bulk of a synced workload's operations, and alike: sample them.
		if r.logSyncs++; r.logSyncs%r.every != 0 {
			return nil
		}
	}
	p := ccCrashPoint{n: n, op: op.String() + " " + path, fs: r.mem.CrashClone()}
	if r.state != nil {
		p.acked, p.busy = r.state()
	}
	r.points = append(r.points, p)
	return nil
}

func newCCRecorder(mem *vfs.MemFS) *ccRecorder {
	return &ccRecorder{mem: mem, counter: vfs.NewCounter(ccCrashOps...), every: 1}
}

// TestCompactRangeCrashPoints crashes at every file operation of a CompactRange that flushes,
// compacts every level down and deletes the inputs; see the file comment.
func TestCompactRangeCrashPoints(t *testing.T) {
	for _, seed := range cmSeeds(t, 1) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay: STRATA_SEED=%d go test ./db -run '^TestCompactRangeCrashPoints$'", seed)
			rng := rand.New(rand.NewPCG(seed, 7))
			nKeys := 3000
			if testing.Short() {
				nKeys = 1000
			}
			fill, churn := ccGenerate(rng, nKeys)
			mem := vfs.NewMem()
			rec := newCCRecorder(mem)
			fs := vfs.WithFaults(mem, rec)
			d := openMem(t, fs, ccOpts())
			model := ccBuild(t, d, fill, churn)

			rec.armed.Store(true)
			require.NoError(t, d.CompactRange(nil, nil))
			rec.armed.Store(false)
			rec.points = append(rec.points, ccCrashPoint{n: rec.counter.Count() + 1, op: "end", fs: mem.CrashClone()})
			require.Greater(t, len(rec.points), 10, "too few file operations in a CompactRange")
			cmRequireContents(t, d, nil, model, "after CompactRange")
			require.NoError(t, d.Close())

			kinds := map[string]int{}
			for _, p := range rec.points {
				kinds[strings.Fields(p.op)[0]]++
				ccRequireContents(t, p.fs, model, fmt.Sprintf("seed %d: crash before operation %d (%s)", seed, p.n, p.op))
			}
			t.Logf("%d crash points: %v", len(rec.points), kinds)
		})
	}
}

// TestBackgroundCompactionCrashPoints crashes at the file operations of synced writes and of the
// flushes and compactions they cause in the background; see the file comment.
func TestBackgroundCompactionCrashPoints(t *testing.T) {
	for _, seed := range cmSeeds(t, 1) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay: STRATA_SEED=%d go test ./db -run '^TestBackgroundCompactionCrashPoints$'", seed)
			rng := rand.New(rand.NewPCG(seed, 8))
			nKeys := 2000
			if testing.Short() {
				nKeys = 700
			}
			fill, churn := ccGenerate(rng, nKeys)
			mem := vfs.NewMem()
			rec := newCCRecorder(mem)
			var acked, busy atomic.Int64
			rec.state = func() (int, bool) { return int(acked.Load()), busy.Load() != 0 }
			if !cmLong() {
				rec.every = 12 // clones are cheap; opening hundreds of them is not
			}
			fs := vfs.WithFaults(mem, rec)
			d := openMem(t, fs, ccOpts())
			for _, w := range fill {
				require.NoError(t, ccWrite(d, w, nil))
			}
			require.NoError(t, d.CompactRange(nil, nil))
			require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
			writes := append(append([][]ccOp{}, fill...), churn...)
			acked.Store(int64(len(fill)))

			rec.armed.Store(true)
			for i, w := range churn {
				busy.Store(1)
				require.NoError(t, ccWrite(d, w, &WriteOptions{Sync: true}))
				acked.Store(int64(len(fill) + i + 1))
				busy.Store(0)
			}
			// Let the background work finish, crash points included.
			require.NoError(t, d.CompactRange(nil, nil))
			rec.armed.Store(false)
			rec.points = append(rec.points, ccCrashPoint{op: "end", fs: mem.CrashClone(), acked: len(writes)})
			require.NoError(t, d.Close())

			kinds := map[string]int{}
			for _, p := range rec.points {
				kinds[strings.Fields(p.op)[0]]++
				what := fmt.Sprintf("seed %d: crash before operation %d (%s) after %d writes", seed, p.n, p.op, p.acked)
				d, err := ccOpenErr(p.fs, ccOpts())
				require.NoError(t, err, what)
				got := cmScan(t, d, nil, what)
				require.NoError(t, d.Close())
				want := ccModelAt(writes, p.acked)
				if p.busy && !maps.Equal(got, want) {
					want = ccModelAt(writes, p.acked+1) // the write in flight made it
				}
				cmRequireEqual(t, want, got, what)
			}
			t.Logf("%d crash points: %v", len(rec.points), kinds)
		})
	}
}

// ccOpen opens the DB on fs; the test closes it when done.
func ccOpen(t *testing.T, fs vfs.FS) *DB {
	t.Helper()
	d, err := ccOpenErr(fs, ccOpts())
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

// ccFaultOps are the operations TestCompactionFaults fails in turn.
var ccFaultOps = []vfs.Op{vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpRename, vfs.OpRemove,
	vfs.OpSyncDir, vfs.OpRead, vfs.OpOpen}

// ccArmed wraps an Injector so that it sees only operations made while armed, and none on the
// LOG (the info log's failures are ignored by design).
type ccArmed struct {
	inj   vfs.Injector
	armed atomic.Bool

	mu    sync.Mutex
	fired string // the operation failed, once one was
}

func (a *ccArmed) MaybeError(op vfs.Op, path string) error {
	if !a.armed.Load() || strings.HasSuffix(path, "LOG") || strings.HasSuffix(path, "LOG.old") {
		return nil
	}
	err := a.inj.MaybeError(op, path)
	if err != nil {
		a.mu.Lock()
		a.fired = op.String() + " " + path
		a.mu.Unlock()
	}
	return err
}

// TestCompactionFaults fails each file operation of a CompactRange in turn; see the file comment.
func TestCompactionFaults(t *testing.T) {
	for _, seed := range cmSeeds(t, 1) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay: STRATA_SEED=%d go test ./db -run '^TestCompactionFaults$'", seed)
			rng := rand.New(rand.NewPCG(seed, 9))
			nKeys := 2000
			if testing.Short() {
				nKeys = 700
			}
			fill, churn := ccGenerate(rng, nKeys)
			base := vfs.NewMem()
			d := openMem(t, base, ccOpts())
			model := ccBuild(t, d, fill, churn)
			require.NoError(t, d.Close())

			// Count the operations of each kind that a CompactRange on this DB makes.
			counts := map[vfs.Op]int64{}
			for _, op := range ccFaultOps {
				c := &ccArmed{inj: vfs.NewCounter(op)}
				fs := base.CrashClone()
				d := openMem(t, vfs.WithFaults(fs, c), ccOpts())
				c.armed.Store(true)
				require.NoError(t, d.CompactRange(nil, nil))
				c.armed.Store(false)
				require.NoError(t, d.Close())
				counts[op] = c.inj.(*vfs.Counter).Count()
			}
			t.Logf("file operations of the CompactRange: %v", counts)

			var sticky, harmless, total int
			for _, op := range ccFaultOps {
				n := counts[op]
				step := int64(1)
				if !cmLong() && n > 12 {
					step = n / 12 // reads and writes are many and alike: sample them
				}
				for k := int64(1); k <= n; k += step {
					fs := base.CrashClone()
					c := &ccArmed{inj: vfs.OnNth(k, vfs.ErrInjected, op)}
					d := openMem(t, vfs.WithFaults(fs, c), ccOpts())
					c.armed.Store(true)
					cerr := d.CompactRange(nil, nil)
					c.armed.Store(false) // the filesystem is healthy again; the DB must still refuse
					what := fmt.Sprintf("seed %d: %s #%d (%s)", seed, op, k, c.fired)
					total++
					want := model
					if cerr != nil {
						require.ErrorIs(t, cerr, vfs.ErrInjected, what)
						perr := d.Put([]byte("after-the-fault"), []byte("x"), nil)
						if perr != nil {
							sticky++
							require.Error(t, d.Put([]byte("after-the-fault"), []byte("x"), nil), "%s: the error did not stick", what)
							require.Error(t, d.CompactRange(nil, nil), "%s: compaction after a background error", what)
						} else {
							// Only a failed switch to a new log (CompactRange starts by flushing the
							// memtable) leaves the DB writable: nothing was lost or half done.
							require.Contains(t, cerr.Error(), "new log", "%s: CompactRange failed, but the DB takes writes", what)
							want = map[string]string{"after-the-fault": "x"}
							for k, v := range model {
								want[k] = v
							}
						}
					} else {
						harmless++
						if c.fired != "" {
							// A failure the DB may shrug off: removing an obsolete file, or reading
							// one again.
							require.True(t, op == vfs.OpRemove || op == vfs.OpRead || op == vfs.OpOpen || op == vfs.OpClose,
								"%s: CompactRange succeeded despite the failure", what)
						}
					}
					_ = d.Close() // reports the background error; must not hang
					// Restart on the healthy filesystem, and after a power loss: all acknowledged.
					ccRequireContents(t, fs, want, what+", reopened")
					crashed := fs.CrashClone() // everything but "after-the-fault" was synced
					d = ccOpen(t, crashed)
					got := cmScan(t, d, nil, what)
					delete(got, "after-the-fault")
					cmRequireEqual(t, model, got, what+", reopened after a crash")
				}
			}
			t.Logf("%d faults: %d refused writes from then on, %d did not fail the CompactRange", total, sticky, harmless)
			require.Greater(t, sticky, 5)
		})
	}
}
