package db

// Crash and recovery on MemFS. A single writer runs a seeded workload of puts, deletes and
// batches (one in five synced) with a small write buffer, so logs rotate and flushes and
// compactions run. The tests then check what a recovered DB holds:
//
//   - power loss (vfs.MemFS.CrashClone): at every sync and directory sync of the run (the only
//     operations that change what a power loss keeps, so every distinct durable state is
//     visited), after every tenth write and at the end, the clone must open and hold exactly the
//     writes of a prefix of the workload: every write acknowledged with Sync, and every write
//     before it, is there (a synced write makes every earlier write durable; see Write); no batch
//     is half there; nothing not yet started is there. A crash during that recovery must lose
//     nothing either.
//   - process kill: every file operation fails from a random moment on (the process is gone; the
//     kernel still has what it was handed), and the same MemFS, reopened, holds every
//     acknowledged write, synced or not.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// crashEnt is one put or delete of a crashOp.
type crashEnt struct {
	key, value string
	del        bool
}

// crashOp is one write of a crash workload: a Put, a Delete, a batch, or an empty synced batch.
type crashOp struct {
	kind string // "put", "delete", "batch", "sync"
	ents []crashEnt
	sync bool
}

func (op crashOp) String() string {
	return fmt.Sprintf("%s(%d entries, sync=%v)", op.kind, len(op.ents), op.sync)
}

func (op crashOp) apply(d *DB) error {
	wo := &WriteOptions{Sync: op.sync}
	switch op.kind {
	case "put":
		return d.Put([]byte(op.ents[0].key), []byte(op.ents[0].value), wo)
	case "delete":
		return d.Delete([]byte(op.ents[0].key), wo)
	}
	var b Batch
	for _, e := range op.ents {
		if e.del {
			b.Delete([]byte(e.key))
		} else {
			b.Put([]byte(e.key), []byte(e.value))
		}
	}
	return d.Write(&b, wo)
}

func (op crashOp) applyModel(m kv) {
	for _, e := range op.ents {
		if e.del {
			delete(m, e.key)
		} else {
			m[e.key] = e.value
		}
	}
}

// genCrashOps returns n writes. Values name their write, so a wrong value shows where it came
// from.
func genCrashOps(seed uint64, n int) []crashOp {
	rng := newRand(seed)
	key := func() string {
		if rng.IntN(50) == 0 {
			return ""
		}
		return fmt.Sprintf("k%03d", rng.IntN(150))
	}
	value := func(i, j int) string {
		size := rng.IntN(600)
		if rng.IntN(20) == 0 {
			size = 4<<10 + rng.IntN(16<<10)
		}
		v := fmt.Sprintf("op%d.%d:", i, j)
		return v + strings.Repeat(string(rune('a'+rng.IntN(26))), size)
	}
	ops := make([]crashOp, n)
	for i := range ops {
		op := crashOp{sync: rng.IntN(5) == 0}
		switch x := rng.IntN(20); {
		case x < 10:
			op.kind, op.ents = "put", []crashEnt{{key: key(), value: value(i, 0)}}
		case x < 13:
			op.kind, op.ents = "delete", []crashEnt{{key: key(), del: true}}
		case x < 19:
			op.kind = "batch"
			for j := range 2 + rng.IntN(12) {
				op.ents = append(op.ents, crashEnt{key: key(), value: value(i, j), del: rng.IntN(4) == 0})
			}
		default:
			op.kind, op.sync = "sync", true
		}
		ops[i] = op
	}
	return ops
}

// crashPoint is a power-loss state and the prefixes of the workload it may hold: at least lo
// writes (the last synced acknowledged write and all before it), at most hi (every write
// started before the crash).
type crashPoint struct {
	fs     *vfs.MemFS
	lo, hi int
	what   string
}

// ackState tracks what the workload has been told.
type ackState struct {
	mu     sync.Mutex
	acked  int // writes that returned
	synced int // writes up to and including the last synced one that returned
}

func (s *ackState) ack(i int, synced bool) {
	s.mu.Lock()
	s.acked = i + 1
	if synced {
		s.synced = i + 1
	}
	s.mu.Unlock()
}

func (s *ackState) get() (acked, synced int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked, s.synced
}

var crashOpts = Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockSize: 1 << 10}

func TestCrashRecovery(t *testing.T) {
	seeds, n := 3, 400
	if longMode() {
		seeds, n = 20, 2000
	}
	if seedFixed() {
		seeds = 1
	}
	base := testSeed(t)
	for i := range seeds {
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay: go test ./db -run 'TestCrashRecovery' -seed=%d", seed)
			ops := genCrashOps(seed, n)
			points := runCrashWorkload(t, ops)
			for i, p := range points {
				got := checkCrashPoint(t, ops, p, crashOpts)
				if i%8 == 0 {
					checkCrashDuringRecovery(t, p, got)
				}
			}
			t.Logf("%d writes, %d crash points checked", n, len(points))
		})
	}
}

// runCrashWorkload runs ops on a fresh MemFS, with one clean close and reopen halfway, and
// returns a crash point before every sync and directory sync, after every tenth write and at
// the end.
func runCrashWorkload(t *testing.T, ops []crashOp) []crashPoint {
	mem := vfs.NewMem()
	var (
		st     ackState
		pmu    sync.Mutex
		points []crashPoint
	)
	capture := func(what string) {
		_, lo := st.get() // read before the clone: those writes were durable before it
		clone := mem.CrashClone()
		acked, _ := st.get() // read after: no write after these had started
		pmu.Lock()
		points = append(points, crashPoint{fs: clone, lo: lo, hi: min(acked+1, len(ops)), what: what})
		pmu.Unlock()
	}
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync || op == vfs.OpSyncDir {
			capture("before " + op.String() + " " + path)
		}
		return nil
	}))
	d := openMem(t, fs, &crashOpts)
	for i, op := range ops {
		require.NoError(t, op.apply(d), "write %d: %v", i, op)
		st.ack(i, op.sync)
		if i%10 == 9 {
			capture(fmt.Sprintf("after write %d", i))
		}
		if i == len(ops)/2 {
			require.NoError(t, d.Close())
			d = openMem(t, fs, &crashOpts)
		}
	}
	capture("at the end")
	require.NoError(t, d.Close())
	pmu.Lock()
	defer pmu.Unlock()
	return points
}

// checkCrashPoint opens the crash state p and checks it holds a prefix of ops in [p.lo, p.hi].
// It returns what the DB holds.
func checkCrashPoint(t *testing.T, ops []crashOp, p crashPoint, opts Options) kv {
	t.Helper()
	before := p.fs.String()
	d, err := openMemErr(p.fs, &opts)
	require.NoError(t, err, "crash %s: Open failed; the directory:\n%s", p.what, before)
	got := dump(t, d, nil)
	// Get agrees with the iterator on a few keys.
	for _, k := range []string{"", "k000", "k001", "k075", "k149"} {
		v, err := d.Get([]byte(k), nil)
		if want, ok := got[k]; ok {
			require.NoError(t, err)
			require.Equal(t, want, string(v))
		} else {
			require.ErrorIs(t, err, ErrNotFound)
		}
	}
	require.NoError(t, d.Close())
	if prefix := relMatchPrefix(nil, ops, got, p.lo, p.hi); prefix < 0 {
		t.Logf("crash %s: no prefix of the workload in [%d, %d] matches the recovered DB; the directory:\n%s",
			p.what, p.lo, p.hi, before)
		want := kv{}
		for _, op := range ops[:p.lo] {
			op.applyModel(want)
		}
		requireSame(t, want, got, "compared with the first %d writes (the last synced acknowledged one included)", p.lo)
		require.FailNow(t, "no prefix matches", "crash %s", p.what)
	}
	return got
}

// checkCrashDuringRecovery opens the crash state p again, takes a crash clone at every sync of
// that recovery, and checks that each of those opens with exactly want: recovery loses nothing.
func checkCrashDuringRecovery(t *testing.T, p crashPoint, want kv) {
	t.Helper()
	var clones []*vfs.MemFS
	fs := vfs.WithFaults(p.fs, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync || op == vfs.OpSyncDir {
			clones = append(clones, p.fs.CrashClone()) // Open syncs from its own goroutine only
		}
		return nil
	}))
	d, err := openMemErr(fs, &crashOpts)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	for i, c := range clones {
		d, err := openMemErr(c, &crashOpts)
		require.NoError(t, err, "crash %s, then a crash at sync %d of its recovery:\n%s", p.what, i, c)
		requireSame(t, want, dump(t, d, nil), "crash %s, then a crash at sync %d of its recovery", p.what, i)
		require.NoError(t, d.Close())
	}
}

func TestProcessKill(t *testing.T) {
	runs, n := 40, 300
	if longMode() {
		runs, n = 200, 1000
	}
	seed := testSeed(t)
	rng := newRand(seed)
	ops := genCrashOps(seed, n)

	// Count the file operations of a whole run, to pick kill moments among them.
	counter := vfs.NewCounter()
	d := openMem(t, vfs.WithFaults(vfs.NewMem(), counter), &crashOpts)
	for _, op := range ops {
		require.NoError(t, op.apply(d))
	}
	require.NoError(t, d.Close())
	total := counter.Count()

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
			d, err := openMemErr(fs, &crashOpts)
			if err == nil {
				for _, op := range ops {
					if op.apply(d) != nil {
						break
					}
					acked++
				}
				killed.Store(true)
				// The process is gone: every file operation fails from now on, so Close only
				// waits for the DB's goroutines to stop and releases the lock (as the kernel
				// would); it changes nothing in mem.
				_ = d.Close()
			}
			d2, err := openMemErr(mem, &crashOpts)
			require.NoError(t, err, "run %d: reopen after a kill at file operation %d of %d:\n%s", run, killAt, total, mem)
			got := dump(t, d2, nil)
			require.NoError(t, d2.Close())
			if relMatchPrefix(nil, ops, got, acked, min(acked+1, len(ops))) < 0 {
				want := kv{}
				for _, op := range ops[:acked] {
					op.applyModel(want)
				}
				requireSame(t, want, got, "after a kill at file operation %d of %d, with %d writes acknowledged", killAt, total, acked)
			}
		})
	}
}
