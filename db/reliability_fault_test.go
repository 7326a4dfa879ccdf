package db

// Fault injection (issue 8, item 3): every kind of file operation fails in turn, in six phases
// (the Open that creates a DB, writes with the flushes and compactions they cause, a flush, a
// CompactRange, the Open of an existing DB with a log to replay, and reads), on vfs.MemFS; mmap
// fails on the real filesystem (MemFS does not map); a full disk (ENOSPC from some point on) on
// both.
//
// For each phase, a counter (like vfs.Counter, by kind) first counts the operations of each kind
// the phase makes (the LOG file's are left out: its failures are ignored by design); then the
// phase is rerun from the
// same starting state once per chosen k with vfs.OnNth(k, ...) failing the k-th operation of
// that kind (every k up to 16 operations of a kind, 16 spread over the range above that; 6
// with -short, all of them with -long; a failed write alternates between writing nothing and a
// torn write of its first 100 bytes). Each run checks:
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

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// faultAllOps are the operation kinds failed in turn: all of them. On MemFS, OpMap is the
// mapping of a log (tables are read through ReadAt there; TestFaultInjectionMmap fails their
// mappings on the real filesystem).
var faultAllOps = []vfs.Op{vfs.OpCreate, vfs.OpOpen, vfs.OpRead, vfs.OpWrite, vfs.OpSync, vfs.OpClose,
	vfs.OpRemove, vfs.OpRename, vfs.OpMkdir, vfs.OpList, vfs.OpStat, vfs.OpLock, vfs.OpSyncDir,
	vfs.OpMap, vfs.OpAllocate, vfs.OpTruncate}

// faultRun is the state one run of a phase works on.
type faultRun struct {
	t       *testing.T
	fs      *vfs.MemFS // healthy underneath
	armed   *ccArmed
	d       *DB
	ops     []crashOp // the writes acknowledged before the phase, then the phase's writes
	acked   []bool    // per write of ops: acknowledged
	first   int       // the first write that failed, or -1
	durable int       // the first durable writes of ops: made durable before the phase
	model   kv        // what the live DB must hold
}

// faultPhase is one phase of TestFaultInjection: prepare builds the starting state once (a
// closed DB, fully synced), run does the phase's work with the injector armed.
type faultPhase struct {
	name string
	// openArmed makes the injector cover the phase's Open; fresh starts from an empty
	// filesystem instead of the prefilled DB.
	openArmed, fresh bool
	run              func(r *faultRun) error
}

// faultPrefill writes ops to d, each acknowledged, and then one empty synced write, so that
// everything is durable.
func faultPrefill(t *testing.T, d *DB, ops []crashOp) {
	for i, op := range ops {
		require.NoError(t, op.apply(d), "prefill write %d", i)
	}
	require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
}

// faultStickyOp reports whether a failure of the operation ccArmed.fired describes must make
// the DB refuse writes from then on (or make Open fail): any sync, a write to a log, and the
// creation, writes and sync of a MANIFEST and of CURRENT (its temporary file and the rename).
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

func TestFaultInjection(t *testing.T) {
	seed := testSeed(t)
	g := newRelGen(seed, "f")
	prefill := g.take(300)
	phaseWrites := g.take(120)
	samples := int64(16)
	if testing.Short() {
		prefill, phaseWrites, samples = prefill[:150], phaseWrites[:60], 6
	}
	if longMode() {
		samples = 1 << 20
	}

	// The starting state of every phase but "write": a DB with tables at several levels,
	// unflushed writes in its log, all of it synced and closed.
	start := vfs.NewMem()
	d := openMem(t, start, relOpts())
	faultPrefill(t, d, prefill[:len(prefill)*2/3])
	require.NoError(t, d.CompactRange(nil, nil))
	faultPrefill(t, d, prefill[len(prefill)*2/3:])
	require.NoError(t, d.Close())
	require.NoError(t, start.SyncDir("/db")) // removals too: copies are exactly this directory
	startModel := relModel(nil, prefill)
	require.NoError(t, ccOpenErrCheck(start, startModel))

	writes := func(r *faultRun) error {
		var firstErr error
		for _, op := range phaseWrites {
			err := op.apply(r.d)
			r.ops = append(r.ops, op)
			r.acked = append(r.acked, err == nil)
			if err == nil {
				op.applyModel(r.model)
			} else if firstErr == nil {
				firstErr, r.first = err, len(r.ops)-1
			}
		}
		return firstErr
	}
	phases := []faultPhase{
		{name: "create", fresh: true, openArmed: true, run: func(r *faultRun) error { return nil }},
		{name: "write", fresh: true, run: writes},
		{name: "flush", run: func(r *faultRun) error {
			// Writes into the memtable first (unarmed), then the flush alone.
			r.armed.armed.Store(false)
			for _, op := range phaseWrites[:20] {
				require.NoError(r.t, op.apply(r.d))
				r.ops, r.acked = append(r.ops, op), append(r.acked, true)
				op.applyModel(r.model)
			}
			r.armed.armed.Store(true)
			return r.d.flushMemTable()
		}},
		{name: "compaction", run: func(r *faultRun) error { return r.d.CompactRange(nil, nil) }},
		{name: "open", openArmed: true, run: func(r *faultRun) error { return nil }},
		{name: "read", run: func(r *faultRun) error { faultReads(r); return nil }},
	}

	total, failedOpen, refused, wentOn := 0, 0, 0, 0
	summary := map[string]map[vfs.Op]int{}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			summary[ph.name] = map[vfs.Op]int{}
			counter := &faultOpCounter{}
			r, _ := faultRunPhase(t, ph, start, startModel, prefill, &ccArmed{inj: counter})
			if r.d != nil {
				require.NoError(t, r.d.Close())
			}
			counts := map[vfs.Op]int64{}
			for _, op := range faultAllOps {
				counts[op] = counter.n[op].Load()
			}
			t.Logf("file operations of the %s phase: %v", ph.name, counts)
			for _, op := range faultAllOps {
				n := counts[op]
				for j, k := range faultSample(n, samples) {
					var ferr error = vfs.ErrInjected
					if op == vfs.OpWrite && j%2 == 1 {
						ferr = faultHalfWrite{}
					}
					armed := &ccArmed{inj: vfs.OnNth(k, ferr, op)}
					r, perr := faultRunPhase(t, ph, start, startModel, prefill, armed)
					fired := armed.firedOp()
					if fired == "" {
						// The phase made fewer operations this time (background work varies).
						if r.d != nil {
							require.NoError(t, r.d.Close())
						}
						continue
					}
					total++
					summary[ph.name][op]++
					what := fmt.Sprintf("%s phase, %s #%d of %d (%s)", ph.name, op, k, n, fired)
					switch {
					case r.d == nil:
						failedOpen++
					case faultCheck(t, r, perr, what):
						refused++
					default:
						wentOn++
					}
					if r.d == nil {
						faultCheck(t, r, perr, what)
					}
				}
			}
		})
	}
	var lines []string
	for _, ph := range phases {
		var parts []string
		for _, op := range faultAllOps {
			if n := summary[ph.name][op]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", op, n))
			}
		}
		lines = append(lines, ph.name+": "+strings.Join(parts, ", "))
	}
	t.Logf("%d faults injected (%s); %d made Open fail, %d left the DB refusing writes, %d let it go on; "+
		"every acknowledged write recovered", total, strings.Join(lines, "; "), failedOpen, refused, wentOn)
}

// firedOp returns the operation the injector failed, or "" (read under the lock: background
// goroutines may still be consulting the injector).
func (a *ccArmed) firedOp() string {
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

// faultRunPhase runs ph once from a copy of start with inj, and returns the run and the phase's
// error. The injector is disarmed when it returns, and the DB is open unless Open failed.
func faultRunPhase(t *testing.T, ph faultPhase, start *vfs.MemFS, startModel kv, prefill []crashOp, inj *ccArmed) (*faultRun, error) {
	t.Helper()
	fs := start.CrashClone()
	if ph.fresh {
		fs = vfs.NewMem()
	}
	r := &faultRun{t: t, fs: fs, armed: inj, first: -1, model: kv{}}
	if !ph.fresh {
		r.ops = slices.Clone(prefill)
		r.acked = make([]bool, len(prefill))
		for i := range r.acked {
			r.acked[i] = true
		}
		r.model = maps.Clone(startModel)
		r.durable = len(prefill)
	}
	ffs := vfs.WithFaults(fs, faultTornWrites{inj})
	if ph.openArmed {
		inj.armed.Store(true)
	}
	d, err := openMemErr(ffs, relOpts())
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

// faultTornWrites passes inj's answer on, turning faultHalfWrite into a torn write.
type faultTornWrites struct{ inj vfs.Injector }

func (f faultTornWrites) MaybeError(op vfs.Op, path string) error {
	err := f.inj.MaybeError(op, path)
	if errors.Is(err, faultHalfWrite{}) {
		return &vfs.PartialWriteError{N: 100, Err: vfs.ErrInjected}
	}
	return err
}

// faultCheck checks a run after its fault; see the file comment. It closes the DB and reports
// whether the DB refused writes after the fault.
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
		if r.acked[i] && op.sync {
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
func faultCheckReopen(t *testing.T, fs *vfs.MemFS, r *faultRun, lastSynced int, what string) {
	t.Helper()
	d, err := openMemErr(fs, relOpts())
	require.NoError(t, err, "%s: Open", what)
	got := dump(t, d, &ReadOptions{VerifyChecksums: true})
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
		var eff []crashOp
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
		if relMatchPrefix(nil, eff, got, lo, len(eff)) >= 0 {
			return
		}
	}
	want := kv{}
	for i, op := range r.ops {
		if r.acked[i] {
			op.applyModel(want)
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

// ccOpenErrCheck opens fs and compares it with model, returning an error instead of failing.
func ccOpenErrCheck(fs *vfs.MemFS, model kv) error {
	d, err := openMemErr(fs, relOpts())
	if err != nil {
		return err
	}
	defer d.Close()
	it := d.NewIterator(nil)
	defer it.Close()
	got := kv{}
	for ok := it.First(); ok; ok = it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	if !maps.Equal(got, model) {
		return fmt.Errorf("the starting state holds %d keys, the model %d", len(got), len(model))
	}
	return it.Error()
}

// TestFaultInjectionMmap fails Map (the one operation MemFS lacks) on the real filesystem: the
// first, a middle one and every one. Readers fall back to ReadAt, so nothing may fail: not the
// flushes and compactions (which read their tables back), not the reads.
func TestFaultInjectionMmap(t *testing.T) {
	g := newRelGen(testSeed(t), "mm")
	ops := g.take(250)
	model := relModel(nil, ops)
	run := func(inj vfs.Injector) {
		dir := t.TempDir()
		o := relOpts()
		o.fs = vfs.WithFaults(vfs.NewOS(), inj)
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

// TestFaultENOSPC fills the disk at some point of a run (every write, sync, create and log space
// reservation fails with ENOSPC from then on), on MemFS at many points and on the real
// filesystem at a few: the first failed write returns an error matching syscall.ENOSPC that says so, every later one
// fails too, Close does not hang, and once space returns (the injector removed) the DB reopens
// with every acknowledged write and takes new ones.
func TestFaultENOSPC(t *testing.T) {
	seed := testSeed(t)
	ops := newRelGen(seed, "e").take(200)
	counter := vfs.NewCounter(vfs.OpWrite, vfs.OpSync, vfs.OpCreate, vfs.OpAllocate)
	d := openMem(t, vfs.WithFaults(vfs.NewMem(), counter), relOpts())
	for _, op := range ops {
		require.NoError(t, op.apply(d))
	}
	require.NoError(t, d.Close())
	n := counter.Count()

	runs := 0
	run := func(fs vfs.FS, dir string, k int64, reopen func() (*DB, error)) {
		full := vfs.OnNth(k, syscall.ENOSPC, vfs.OpWrite, vfs.OpSync, vfs.OpCreate, vfs.OpAllocate).Sticky()
		o := relOpts()
		o.fs = vfs.WithFaults(fs, full)
		what := fmt.Sprintf("disk full from operation %d of %d", k, n)
		d, err := Open(dir, o)
		if err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC, "%s: Open", what)
		}
		acked := 0
		var firstErr error
		if err == nil {
			for i, op := range ops {
				err := op.apply(d)
				if err == nil {
					require.Nil(t, firstErr, "%s: write %d acknowledged after a write failed for lack of space", what, i)
					acked++
					continue
				}
				require.ErrorIs(t, err, syscall.ENOSPC, "%s: write %d", what, i)
				require.Contains(t, err.Error(), "no space left on device", what)
				if firstErr == nil {
					firstErr = err
				}
			}
			_ = d.Close()
		}
		if !full.Fired() {
			return
		}
		runs++
		// Space returns.
		d, err = reopen()
		require.NoError(t, err, "%s: reopen once space returned", what)
		got := dump(t, d, nil)
		if relMatchPrefix(nil, ops, got, acked, min(acked+1, len(ops))) < 0 {
			requireSame(t, relModel(nil, ops[:acked]), got, "%s: reopened", what)
		}
		require.NoError(t, d.Put([]byte("after"), []byte("space returned"), &WriteOptions{Sync: true}), what)
		require.NoError(t, d.Close())
	}
	for _, k := range faultSample(n, 40) {
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
