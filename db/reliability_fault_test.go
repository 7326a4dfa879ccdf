package db

// The fault-phase driver: every kind of file operation fails in turn during one phase of a DB's
// life, on vfs.MemFS. For each phase, an injector first counts the operations of each kind the
// phase makes (the LOG file's are left out: its failures are ignored by design); then the phase
// is rerun from the same starting state once per chosen k with vfs.OnNth(k, ...) failing the
// k-th operation of that kind (every k up to 16 operations of a kind, 16 spread over the range
// above that; 6 with -short, all of them with -long; with tornWrites a failed write alternates
// between writing nothing and a torn write of its first 100 bytes). Each run checks:
//
//   - every call that failed returned an error wrapping the injected one;
//   - the DB never acknowledges a write it did not log: the live DB holds exactly the
//     acknowledged writes, and so does the directory reopened on a healthy filesystem (plus, at
//     most, the one write whose error was reported after it reached the log);
//   - after a failed sync, a failed log write, or a failed create or write of a MANIFEST or of
//     CURRENT (its temporary file, its rename), the DB refuses every later write, even once the
//     filesystem is healthy again (the error is sticky), or Open fails;
//   - a power loss right after the fault keeps every write acknowledged as synced;
//   - reads during the fault return the right value or the injected error, never a wrong value,
//     and once the fault is gone every read is right again (nothing bad was cached).
//
// The cases:
//
//   - TestFaultInjection (issue 8, item 3): six phases of the reliability workload (the Open
//     that creates a DB, writes with the flushes and compactions they cause, a flush, a
//     CompactRange, the Open of an existing DB with a log to replay, and reads), all kinds of
//     operations.
//   - TestCompactionFaults: a CompactRange of a tree whose churn shadows a compacted fill, 12
//     faults per kind of operation a compaction makes. A failed CompactRange leaves the DB
//     refusing writes, unless only its switch to a new log failed (nothing was lost or half
//     done); a fault the CompactRange shrugs off is one of a removal of an obsolete file or of
//     a read, open or close.
//
// Faults that fail every operation from some point on (a killed process, a full disk) and mmap
// failures are in reliability_failfrom_test.go.

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

// faultAllOps are the operation kinds failed in turn: all of them. On MemFS, OpMap is the
// mapping of a log (tables are read through ReadAt there; TestFaultInjectionMmap fails their
// mappings on the real filesystem).
var faultAllOps = []vfs.Op{vfs.OpCreate, vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose,
	vfs.OpRemove, vfs.OpRename, vfs.OpMkdir, vfs.OpList, vfs.OpStat, vfs.OpLock, vfs.OpSyncDir,
	vfs.OpMap, vfs.OpAllocate, vfs.OpTruncate}

func TestFaultInjection(t *testing.T) {
	t.Parallel() // long; it shares nothing with the other tests
	seed := testSeed(t)
	g := relGen(seed, "f")
	prefill := g.Take(300)
	phaseWrites := g.Take(120)
	samples := int64(16)
	if testing.Short() {
		prefill, phaseWrites, samples = prefill[:150], phaseWrites[:60], 6
	}
	if raceEnabled {
		samples = 3
	}
	// The starting state of every phase but "create" and "write": a DB with tables at several
	// levels, unflushed writes in its log, all of it synced and closed.
	c := &faultCase{opts: relOpts(), ops: faultAllOps, samples: samples, tornWrites: true, prefill: prefill}
	c.build(t, func(d *DB) {
		faultPrefill(t, d, prefill[:len(prefill)*2/3])
		require.NoError(t, d.CompactRange(nil, nil))
		faultPrefill(t, d, prefill[len(prefill)*2/3:])
	})
	writes := func(r *faultRun) error {
		var firstErr error
		for _, op := range phaseWrites {
			err := applyOp(r.d, op)
			r.ops = append(r.ops, op)
			r.acked = append(r.acked, err == nil)
			if err == nil {
				r.model.Apply(op)
			} else if firstErr == nil {
				firstErr, r.first = err, len(r.ops)-1
			}
		}
		return firstErr
	}
	c.phases = []faultPhase{
		{name: "create", fresh: true, openArmed: true, run: func(r *faultRun) error { return nil }},
		{name: "write", fresh: true, run: writes},
		{name: "flush", run: func(r *faultRun) error {
			// Writes into the memtable first (unarmed), then the flush alone.
			r.armed.armed.Store(false)
			for _, op := range phaseWrites[:20] {
				require.NoError(r.t, applyOp(r.d, op))
				r.ops, r.acked = append(r.ops, op), append(r.acked, true)
				r.model.Apply(op)
			}
			r.armed.armed.Store(true)
			return r.d.flushMemTable()
		}},
		{name: "compaction", run: func(r *faultRun) error { return r.d.CompactRange(nil, nil) }},
		{name: "open", openArmed: true, run: func(r *faultRun) error { return nil }},
		{name: "read", run: func(r *faultRun) error { faultReads(r); return nil }},
	}
	runFaultCase(t, c)
}

// compactionFaultOps are the operations TestCompactionFaults fails in turn: those a compaction
// makes.
var compactionFaultOps = []vfs.Op{vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpClose, vfs.OpRename, vfs.OpRemove,
	vfs.OpSyncDir, vfs.OpRead, vfs.OpOpen}

func TestCompactionFaults(t *testing.T) {
	forSeeds(t, 1, func(t *testing.T, seed uint64) {
		_, fill, churn := fillAndChurn(seed, sized(2000, 700, 2000))
		prefill := slices.Concat(fill, churn)
		c := &faultCase{opts: compactionCrashOpts(), ops: compactionFaultOps, samples: 12, prefill: prefill, minRefused: 6}
		c.build(t, func(d *DB) {
			faultPrefill(t, d, fill)
			require.NoError(t, d.CompactRange(nil, nil))
			faultPrefill(t, d, churn)
		})
		c.phases = []faultPhase{{name: "compaction", run: func(r *faultRun) error { return r.d.CompactRange(nil, nil) },
			check: func(r *faultRun, perr error, refused bool, what string) {
				fired, _, _ := strings.Cut(r.armed.firedOp(), " ")
				switch {
				case perr != nil && !refused:
					// Only a failed switch to a new log (CompactRange starts by flushing the
					// memtable) leaves the DB writable: nothing was lost or half done.
					require.Contains(r.t, perr.Error(), "new log", "%s: CompactRange failed, but the DB takes writes", what)
				case perr == nil:
					// A failure the DB may shrug off: removing an obsolete file, or reading one
					// again.
					require.Contains(r.t, []string{vfs.OpRemove.String(), vfs.OpRead.String(), vfs.OpOpen.String(), vfs.OpClose.String()},
						fired, "%s: CompactRange succeeded despite the failure", what)
				}
			}}}
		runFaultCase(t, c)
	})
}

// faultCase is one fault-injection scenario: the starting state (a closed DB, fully synced,
// holding prefill), the operations failed, and the phases.
type faultCase struct {
	opts       *Options
	ops        []vfs.Op // the kinds of operations failed in turn
	samples    int64    // faults per kind of operation (all of them with -long)
	tornWrites bool     // every other failed write is torn instead
	prefill    []workload.Op
	phases     []faultPhase
	minRefused int // the fewest faults after which the DB must refuse writes

	start *vfs.MemFS
	model kv
}

// faultPhase is one phase of a faultCase: run does the phase's work with the injector armed;
// check, when set, checks more after faultCheck.
type faultPhase struct {
	name string
	// openArmed makes the injector cover the phase's Open; fresh starts from an empty
	// filesystem instead of the starting state.
	openArmed, fresh bool
	run              func(r *faultRun) error
	check            func(r *faultRun, perr error, refused bool, what string)
}

// faultRun is the state one run of a phase works on.
type faultRun struct {
	t       *testing.T
	opts    *Options
	fs      *vfs.MemFS // healthy underneath
	armed   *armedInjector
	d       *DB
	ops     []workload.Op // the writes acknowledged before the phase, then the phase's writes
	acked   []bool        // per write of ops: acknowledged
	first   int           // the first write that failed, or -1
	durable int           // the first durable writes of ops: made durable before the phase
	model   kv            // what the live DB must hold
}

// build makes the starting state: a DB that fill wrote (c.prefill), closed, with everything
// synced, checked against its model.
func (c *faultCase) build(t *testing.T, fill func(d *DB)) {
	c.start = vfs.NewMem()
	d := openMem(t, c.start, c.opts)
	fill(d)
	require.NoError(t, d.Close())
	require.NoError(t, c.start.SyncDir("/db")) // removals too: copies are exactly this directory
	c.model = workload.Replay(nil, c.prefill)
	d = openMem(t, c.start.CrashClone(), c.opts)
	requireSame(t, c.model, dump(t, d, nil), "the starting state")
	require.NoError(t, d.Close())
}

// faultPrefill writes ops to d, each acknowledged, and then one empty synced write, so that
// everything is durable.
func faultPrefill(t *testing.T, d *DB, ops []workload.Op) {
	for i, op := range ops {
		require.NoError(t, applyOp(d, op), "prefill write %d", i)
	}
	require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
}

// runFaultCase runs every phase of c, failing each chosen operation in turn; see the file
// comment.
func runFaultCase(t *testing.T, c *faultCase) {
	samples := c.samples
	if longMode() {
		samples = 1 << 20
	}
	// The phases run in parallel (each from its own copy of the starting state), each counting
	// into its own tally; the tallies are summed once all are done.
	type tally struct {
		total, failedOpen, refused, wentOn int
		byOp                               map[vfs.Op]int
	}
	tallies := make([]tally, len(c.phases))
	t.Run("phases", func(t *testing.T) {
		for i, ph := range c.phases {
			t.Run(ph.name, func(t *testing.T) {
				t.Parallel()
				tl := &tallies[i]
				tl.byOp = map[vfs.Op]int{}
				counter := &faultOpCounter{}
				r, _ := c.runPhase(t, ph, &armedInjector{inj: counter})
				if r.d != nil {
					require.NoError(t, r.d.Close())
				}
				counts := map[vfs.Op]int64{}
				for _, op := range c.ops {
					counts[op] = counter.n[op].Load()
				}
				t.Logf("file operations of the %s phase: %v", ph.name, counts)
				for _, op := range c.ops {
					n := counts[op]
					for j, k := range faultSample(n, samples) {
						var ferr error = vfs.ErrInjected
						if c.tornWrites && op == vfs.OpWrite && j%2 == 1 {
							ferr = faultHalfWrite{}
						}
						armed := &armedInjector{inj: vfs.OnNth(k, ferr, op)}
						r, perr := c.runPhase(t, ph, armed)
						fired := armed.firedOp()
						if fired == "" {
							// The phase made fewer operations this time (background work varies).
							if r.d != nil {
								require.NoError(t, r.d.Close())
							}
							continue
						}
						tl.total++
						tl.byOp[op]++
						what := fmt.Sprintf("%s phase, %s #%d of %d (%s)", ph.name, op, k, n, fired)
						opened := r.d != nil
						ref := faultCheck(t, r, perr, what)
						switch {
						case !opened:
							tl.failedOpen++
						case ref:
							tl.refused++
						default:
							tl.wentOn++
						}
						if ph.check != nil {
							ph.check(r, perr, ref, what)
						}
					}
				}
			})
		}
	})
	total, failedOpen, refused, wentOn := 0, 0, 0, 0
	for _, tl := range tallies {
		total, failedOpen, refused, wentOn = total+tl.total, failedOpen+tl.failedOpen, refused+tl.refused, wentOn+tl.wentOn
	}
	var lines []string
	for i, ph := range c.phases {
		var parts []string
		for _, op := range c.ops {
			if n := tallies[i].byOp[op]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", op, n))
			}
		}
		lines = append(lines, ph.name+": "+strings.Join(parts, ", "))
	}
	t.Logf("%d faults injected (%s); %d made Open fail, %d left the DB refusing writes, %d let it go on; "+
		"every acknowledged write recovered", total, strings.Join(lines, "; "), failedOpen, refused, wentOn)
	require.GreaterOrEqual(t, failedOpen+refused, c.minRefused, "too few faults left the DB refusing writes")
}

// armedInjector passes on what inj answers for the operations made while armed, except those
// on the LOG (the info log's failures are ignored by design), and records the one it failed.
type armedInjector struct {
	inj   vfs.Injector
	armed atomic.Bool

	mu    sync.Mutex
	fired string // the operation failed, once one was
}

func (a *armedInjector) MaybeError(op vfs.Op, path string) error {
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

// firedOp returns the operation the injector failed, or "" (read under the lock: background
// goroutines may still be consulting the injector).
func (a *armedInjector) firedOp() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fired
}

// faultOpCounter counts operations by kind (vfs.Counter counts one set of kinds as one).
type faultOpCounter struct {
	n [vfs.OpTruncate + 1]atomic.Int64
}

func (c *faultOpCounter) MaybeError(op vfs.Op, _ string) error {
	if int(op) < len(c.n) {
		c.n[op].Add(1)
	}
	return nil
}

// faultHalfWrite is an injected error for OpWrite that tears the write: faultTornWrites turns it
// into a vfs.PartialWriteError that stores the first 100 bytes.
type faultHalfWrite struct{}

func (faultHalfWrite) Error() string { return "torn write" }

// faultTornWrites passes inj's answer on, turning faultHalfWrite into a torn write.
type faultTornWrites struct{ inj vfs.Injector }

func (f faultTornWrites) MaybeError(op vfs.Op, path string) error {
	err := f.inj.MaybeError(op, path)
	if errors.Is(err, faultHalfWrite{}) {
		return &vfs.PartialWriteError{N: 100, Err: vfs.ErrInjected}
	}
	return err
}

// faultSample returns the k to fail among n operations: all of them up to max, else max spread
// evenly from the first to the last.
func faultSample(n, max int64) []int64 {
	var ks []int64
	if n <= max {
		for k := int64(1); k <= n; k++ {
			ks = append(ks, k)
		}
		return ks
	}
	for j := int64(0); j < max; j++ {
		ks = append(ks, 1+j*(n-1)/(max-1))
	}
	return ks
}

// runPhase runs ph once from a copy of the starting state with inj, and returns the run and the
// phase's error. The injector is disarmed when it returns, and the DB is open unless Open
// failed.
func (c *faultCase) runPhase(t *testing.T, ph faultPhase, inj *armedInjector) (*faultRun, error) {
	t.Helper()
	fs := c.start.CrashClone()
	if ph.fresh {
		fs = vfs.NewMem()
	}
	r := &faultRun{t: t, opts: c.opts, fs: fs, armed: inj, first: -1, model: kv{}}
	if !ph.fresh {
		r.ops = slices.Clone(c.prefill)
		r.acked = make([]bool, len(c.prefill))
		for i := range r.acked {
			r.acked[i] = true
		}
		r.model = maps.Clone(c.model)
		r.durable = len(c.prefill)
	}
	ffs := vfs.WithFaults(fs, faultTornWrites{inj})
	if ph.openArmed {
		inj.armed.Store(true)
	}
	d, err := openMemErr(ffs, c.opts)
	if ph.openArmed {
		inj.armed.Store(false)
		if err != nil {
			return r, err
		}
	}
	require.NoError(t, err)
	r.d = d
	inj.armed.Store(true)
	err = ph.run(r)
	inj.armed.Store(false)
	return r, err
}

// faultStickyOp reports whether a failure of the operation armedInjector.fired describes must
// make the DB refuse writes from then on (or make Open fail): any sync, a write to a log, and
// the creation, writes and sync of a MANIFEST and of CURRENT (its temporary file and the
// rename).
func faultStickyOp(fired string) bool {
	op, path, _ := strings.Cut(fired, " ")
	base := filepath.Base(path)
	isOp := func(ops ...vfs.Op) bool {
		for _, o := range ops {
			if op == o.String() {
				return true
			}
		}
		return false
	}
	return isOp(vfs.OpSync) ||
		isOp(vfs.OpWrite) && strings.HasSuffix(base, ".log") ||
		isOp(vfs.OpCreate, vfs.OpWrite) && strings.HasPrefix(base, "MANIFEST-") ||
		isOp(vfs.OpCreate, vfs.OpWrite, vfs.OpRename) && strings.HasSuffix(base, ".dbtmp")
}

// faultCheck checks a run after its fault; see the file comment. It closes the DB and reports
// whether the DB refused writes after the fault (or Open failed).
func faultCheck(t *testing.T, r *faultRun, perr error, what string) bool {
	t.Helper()
	if perr != nil {
		require.ErrorIs(t, perr, vfs.ErrInjected, "%s: the phase failed with another error", what)
	}
	sticky := faultStickyOp(r.armed.firedOp())
	for i := r.first + 1; sticky && r.first >= 0 && i < len(r.acked); i++ {
		require.False(t, r.acked[i], "%s: write %d acknowledged after write %d failed", what, i, r.first)
	}
	refused := false
	if r.d != nil {
		if sticky {
			// A background flush or compaction may have failed just now: give it the moment it
			// takes to record the error.
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				r.d.mu.Lock()
				failed := r.d.mu.bgErr != nil
				r.d.mu.Unlock()
				if failed {
					break
				}
			}
		}
		// The live DB holds exactly what was acknowledged.
		requireSame(t, r.model, dump(t, r.d, nil), "%s: the live DB after the fault", what)
		// Healthy again: does the DB take a write?
		perr := r.d.Put([]byte("probe"), []byte("after the fault"), nil)
		if perr == nil {
			r.model["probe"] = "after the fault"
		} else {
			refused = true
			require.ErrorIs(t, perr, vfs.ErrInjected, "%s: a write after the fault failed with another error", what)
			require.Error(t, r.d.Put([]byte("probe"), []byte("again"), nil), "%s: the refusal did not stick", what)
		}
		if sticky {
			require.True(t, refused, "%s: a write was accepted after a failed sync, log write or MANIFEST write", what)
		}
		_ = r.d.Close() // reports the error; must not hang
	} else {
		refused = true // Open failed
	}

	// A power loss now keeps every write acknowledged as synced.
	crashed := r.fs.CrashClone()
	lastSynced := r.durable - 1
	for i, op := range r.ops {
		if r.acked[i] && op.Sync {
			lastSynced = i
		}
	}
	faultCheckReopen(t, crashed, r, lastSynced, what+", after a power loss")
	// And a restart on the healthy filesystem keeps every acknowledged write.
	faultCheckReopen(t, r.fs, r, -2, what+", reopened")
	return refused
}

// faultCheckReopen opens fs and checks it holds the acknowledged writes of r in order: all of
// them (lastSynced -2), or at least those up to lastSynced (a power loss). The first write that
// failed may be there too (its error can come after it reached the log), and so may the probe.
// Point reads of a sample of the keys agree with the scan (a Get takes another path through the
// tree: one file per level, found by key).
func faultCheckReopen(t *testing.T, fs *vfs.MemFS, r *faultRun, lastSynced int, what string) {
	t.Helper()
	d, err := openMemErr(fs, r.opts)
	require.NoError(t, err, "%s: Open", what)
	got := dump(t, d, &ReadOptions{VerifyChecksums: true})
	keys := slices.Sorted(maps.Keys(r.model))
	var sample []string
	for i := 0; i < len(keys); i += 1 + len(keys)/50 {
		sample = append(sample, keys[i], keys[i]+"\x00") // a key, and one after it never written
	}
	requireGets(t, d, nil, got, sample, what)
	require.NoError(t, d.Close())
	probe, hasProbe := got["probe"]
	delete(got, "probe")
	if hasProbe {
		require.Equal(t, r.model["probe"], probe, "%s: the probe", what)
	}
	for _, withFailed := range []bool{false, true} {
		if withFailed && r.first < 0 {
			break
		}
		var eff []workload.Op
		lo := 0
		for i, op := range r.ops {
			if r.acked[i] || withFailed && i == r.first {
				eff = append(eff, op)
			}
			if i == lastSynced {
				lo = len(eff)
			}
		}
		if lastSynced == -2 {
			lo = len(eff)
		}
		if workload.MatchPrefix(nil, eff, got, lo, len(eff)) >= 0 {
			return
		}
	}
	want := kv{}
	for i, op := range r.ops {
		if r.acked[i] {
			want.Apply(op)
		}
	}
	requireSame(t, want, got, "%s: not the acknowledged writes (first failed write: %d)", what, r.first)
}

// faultReads reads every key of the model, with and without checksum verification, and scans
// both ways: each read returns the right value or the injected error. It then requires every
// read to succeed, the fault being gone.
func faultReads(r *faultRun) {
	t := r.t
	keys := slices.Sorted(maps.Keys(r.model))
	check := func(armed bool) {
		r.armed.armed.Store(armed)
		defer r.armed.armed.Store(false)
		for i, k := range keys {
			v, err := r.d.Get([]byte(k), &ReadOptions{VerifyChecksums: i%2 == 0})
			if err != nil {
				require.True(t, armed, "Get(%s) with the fault gone: %v", short(k), err)
				require.ErrorIs(t, err, vfs.ErrInjected, "Get(%s)", short(k))
				continue
			}
			require.Equal(t, r.model[k], string(v), "Get(%s)", short(k))
		}
		for _, reverse := range []bool{false, true} {
			it := r.d.NewIterator(nil)
			n := 0
			ok := it.First()
			if reverse {
				ok = it.Last()
			}
			for ; ok; n++ {
				want := keys[n]
				if reverse {
					want = keys[len(keys)-1-n]
				}
				require.Equal(t, want, string(it.Key()), "scan (reverse %v) entry %d", reverse, n)
				require.Equal(t, r.model[want], string(it.Value()), "scan (reverse %v) of %s", reverse, short(want))
				if reverse {
					ok = it.Prev()
				} else {
					ok = it.Next()
				}
			}
			if err := it.Error(); err != nil {
				require.True(t, armed, "scan with the fault gone: %v", err)
				require.ErrorIs(t, err, vfs.ErrInjected)
			} else {
				require.Equal(t, len(keys), n, "scan (reverse %v) ended early without an error", reverse)
			}
			if err := it.Close(); err != nil { // Close reports the iteration's error again
				require.True(t, armed, "scan with the fault gone: %v", err)
				require.ErrorIs(t, err, vfs.ErrInjected)
			}
		}
	}
	check(true)
	check(false)
}
