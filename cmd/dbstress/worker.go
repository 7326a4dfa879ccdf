package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/db"
)

// stress runs the operations of --threads goroutines on an open DB and verifies every read
// against the expected state. Thread t owns the keys i with i % threads == t and is the only
// one to write them, so their expected state is exact while threads run concurrently: before a
// write it marks the keys' states pending (and, in a --kill child, reports the write on the
// pipe), after the write returns it stores the new states (and reports the acknowledgement).
// Any thread reads any key; a read of a key another thread owns is checked against the states
// loaded before and after it (allowed).
type stress struct {
	c      *config
	d      *db.DB
	exp    *expected
	st     *stats
	fails  *failures
	rep    *reporter // the pipe to the parent of a --kill child; nil otherwise
	stderr io.Writer // for watch's stacks

	begun    atomic.Int64 // operations begun, for --ops
	ckpt     sync.Mutex   // one checkpoint at a time
	lastCkpt atomic.Int64 // when the last checkpoint began (UnixNano)
}

// checkpointName is the directory, in the DB's directory, that checkpoints are made in (and
// removed after their check). Strata ignores names that are not its own.
const checkpointName = "dbstress-checkpoint"

// checkpointEvery is the least time between two checkpoints: each writes a copy of the DB.
const checkpointEvery = 3 * time.Second

// errStopped ends a transaction's function once a read in it failed its check (the failure is
// recorded already).
var errStopped = errors.New("stopped")

// run runs the threads until ctx is done or --ops operations have begun, with a watch for a
// hang.
func (s *stress) run(ctx context.Context) {
	// The first checkpoint comes at a random moment of the first checkpointEvery (so that some
	// short-lived --kill children make one, not all of them at once).
	first := rand.New(rand.NewPCG(s.c.seed, 0x636b7074)).Int64N(int64(checkpointEvery))
	s.lastCkpt.Store(time.Now().UnixNano() - first)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.watch(wctx, s.stderr)
	var wg sync.WaitGroup
	for id := range s.c.threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &thread{s: s, id: id, ctx: ctx, rng: rand.New(rand.NewPCG(s.c.seed, uint64(id)))}
			t.nOwn = (s.c.keys - id + s.c.threads - 1) / s.c.threads
			t.loop()
		}()
	}
	wg.Wait()
}

// thread is one goroutine of operations.
type thread struct {
	s    *stress
	id   int
	ctx  context.Context
	rng  *rand.Rand
	nOwn int           // keys owned
	snap *heldSnapshot // a snapshot taken by an earlier operation, read by a later one
}

// Operations, in ten-thousandths of the draws.
var opMix = []struct {
	weight int
	run    func(*thread)
}{
	{3177, (*thread).get},
	{800, (*thread).scan},
	{2500, (*thread).put},
	{700, (*thread).delete},
	{1400, (*thread).batch},
	{900, (*thread).txn},
	{500, (*thread).snapshot},
	{3, (*thread).compact},
	{20, (*thread).checkpoint},
}

func (t *thread) loop() {
	total := 0
	for _, op := range opMix {
		total += op.weight
	}
	defer func() {
		if t.snap != nil {
			t.snap.snap.Release()
		}
	}()
	for t.ctx.Err() == nil {
		if t.s.c.ops > 0 && t.s.begun.Add(1) > t.s.c.ops {
			return
		}
		x := t.rng.IntN(total)
		for _, op := range opMix {
			if x -= op.weight; x < 0 {
				op.run(t)
				break
			}
		}
		t.s.st.ops.Add(1)
	}
}

// ownKey returns the j-th key the thread owns.
func (t *thread) ownKey(j int) int { return t.id + j*t.s.c.threads }

func (t *thread) randomOwn() int { return t.ownKey(t.rng.IntN(t.nOwn)) }

// ownKeys returns n distinct keys the thread owns (fewer if it owns fewer).
func (t *thread) ownKeys(n int) []int {
	n = min(n, t.nOwn)
	ks := make([]int, 0, n)
	for len(ks) < n {
		i := t.randomOwn()
		dup := false
		for _, k := range ks {
			dup = dup || k == i
		}
		if !dup {
			ks = append(ks, i)
		}
	}
	return ks
}

// randomRange returns a range of key numbers [lo, hi) of 1 to n keys.
func (t *thread) randomRange(n int) (lo, hi int) {
	keys := t.s.c.keys
	lo = t.rng.IntN(keys)
	return lo, min(keys, lo+1+t.rng.IntN(min(n, keys)))
}

func (t *thread) readOptions() *db.ReadOptions {
	return &db.ReadOptions{VerifyChecksums: t.rng.IntN(4) == 0, DontFillCache: t.rng.IntN(8) == 0}
}

// violation records a violation (and reports it to the parent of a --kill child).
func (t *thread) violation(msg string) {
	t.s.fails.violation(msg)
	t.s.rep.violation(msg)
}

// fail records an error of the DB: what names the operation.
func (t *thread) fail(what string, err error) {
	if t.ctx.Err() != nil && errors.Is(err, t.ctx.Err()) {
		return // the run is ending
	}
	msg := fmt.Sprintf("%s: %v", what, err)
	t.s.fails.err(msg)
	t.s.rep.err(msg)
}

// check verifies a read of key i made between the state loads s0 and s1 that returned value
// and err; what names the read. It reports false after a violation or an error.
func (t *thread) check(i int, s0, s1 state, value []byte, err error, what string) bool {
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		t.fail(fmt.Sprintf("%s %s", what, keyString(i)), err)
		return false
	}
	t.s.st.reads.Add(1)
	if msg := checkRead(i, s0, s1, value, err == nil, t.s.c.valueSize); msg != "" {
		t.violation(what + ": " + msg)
		return false
	}
	return true
}

func (t *thread) get() {
	i := t.rng.IntN(t.s.c.keys)
	if t.rng.IntN(2) == 0 {
		i = t.randomOwn() // exact
	}
	ro := t.readOptions()
	s0 := t.s.exp.get(i)
	v, err := t.s.d.Get(appendKey(nil, i), ro)
	s1 := t.s.exp.get(i)
	t.check(i, s0, s1, v, err, "Get")
}

// entry is one key of a write: its new version, put or delete.
type entry struct {
	i   int
	v   uint64
	put bool
}

// write makes the write do, of the entries es: it marks them pending and reports them, runs
// do, and stores the new states and reports the acknowledgement. A write that a transaction
// gave up on (a conflict) or that a failed check stopped is withdrawn; a write that failed
// otherwise stays pending (it may have reached the log) and fails the run.
func (t *thread) write(es []entry, what string, do func(wo *db.WriteOptions) error) {
	exp := t.s.exp
	for j := range es {
		cur := exp.get(es[j].i)
		es[j].v = cur.version() + 1
		exp.set(es[j].i, cur.withPending(es[j].put))
	}
	t.s.rep.intent(t.id, es)
	wo := &db.WriteOptions{Sync: t.rng.Float64() < t.s.c.syncRatio}
	if err := do(wo); err != nil {
		if errors.Is(err, db.ErrConflict) || errors.Is(err, errStopped) {
			for _, e := range es {
				exp.set(e.i, exp.get(e.i).settled())
			}
			t.s.rep.withdraw(t.id)
			return
		}
		t.fail(fmt.Sprintf("%s of %s", what, keyString(es[0].i)), err)
		return
	}
	for _, e := range es {
		exp.set(e.i, exp.get(e.i).applied())
	}
	t.s.rep.ack(t.id)
	t.s.st.writes.Add(1)
}

func (t *thread) value(e entry) []byte { return makeValue(e.i, e.v, t.s.c.valueSize) }

func (t *thread) put() {
	es := []entry{{i: t.randomOwn(), put: true}}
	t.write(es, "Put", func(wo *db.WriteOptions) error {
		return t.s.d.Put(appendKey(nil, es[0].i), t.value(es[0]), wo)
	})
}

func (t *thread) delete() {
	es := []entry{{i: t.randomOwn()}}
	t.write(es, "Delete", func(wo *db.WriteOptions) error {
		return t.s.d.Delete(appendKey(nil, es[0].i), wo)
	})
}

// batch writes 2 to 16 of the thread's keys in one batch, one in four a delete.
func (t *thread) batch() {
	ks := t.ownKeys(2 + t.rng.IntN(15))
	es := make([]entry, len(ks))
	for j, i := range ks {
		es[j] = entry{i: i, put: t.rng.IntN(4) != 0}
	}
	t.write(es, "batch", func(wo *db.WriteOptions) error {
		var b db.Batch
		for _, e := range es {
			if e.put {
				b.Put(appendKey(nil, e.i), t.value(e))
			} else {
				b.Delete(appendKey(nil, e.i))
			}
		}
		return t.s.d.Write(&b, wo)
	})
}

// txn is a read-modify-write through DB.Update: it reads 1 to 3 of the thread's keys (exact)
// and, half the time, one key another thread owns (which makes conflicts: that thread may write
// it before the commit), then writes the next version of each of its keys (one in six a
// delete). Update runs the function again after a conflict; it gives up after its 20 tries, and
// then nothing was written.
func (t *thread) txn() {
	ks := t.ownKeys(1 + t.rng.IntN(3))
	es := make([]entry, len(ks))
	cur := make([]state, len(ks))
	for j, i := range ks {
		es[j] = entry{i: i, put: t.rng.IntN(6) != 0}
		cur[j] = t.s.exp.get(i)
	}
	other := -1
	if i := t.rng.IntN(t.s.c.keys); t.s.c.threads > 1 && i%t.s.c.threads != t.id && t.rng.IntN(2) == 0 {
		other = i
	}
	var otherS0 state
	if other >= 0 {
		otherS0 = t.s.exp.get(other) // before Update: every try's transaction begins after it
	}
	tries := 0
	fn := func(tx *db.Transaction) error {
		tries++
		for j, e := range es {
			v, err := tx.Get(appendKey(nil, e.i))
			if !t.check(e.i, cur[j], cur[j], v, err, "transaction Get") {
				return errStopped
			}
		}
		if other >= 0 {
			v, err := tx.Get(appendKey(nil, other))
			if !t.check(other, otherS0, t.s.exp.get(other), v, err, "transaction Get") {
				return errStopped
			}
		}
		for _, e := range es {
			var err error
			if e.put {
				err = tx.Put(appendKey(nil, e.i), t.value(e))
			} else {
				err = tx.Delete(appendKey(nil, e.i))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	t.write(es, "transaction", func(wo *db.WriteOptions) error {
		if wo.Sync {
			return t.s.d.UpdateSync(fn)
		}
		return t.s.d.Update(fn)
	})
	t.s.st.txns.Add(1)
	t.s.st.conflicts.Add(int64(max(tries-1, 0)))
}

// scan reads a range of up to 100 keys with an iterator, forward or backward, with both
// bounds, one, or none (and a Seek to the range).
func (t *thread) scan() {
	lo, hi := t.randomRange(100)
	ro := t.readOptions()
	t.scanRange(lo, hi, nil, nil, ro, "scan")
	t.s.st.scans.Add(1)
}

// scanRange scans the keys [lo, hi) with an iterator made with ro and checks every key of the
// range, found or not, against the states s0 and s1 (nil: loaded before and after the iterator
// is made: it sees the DB as of then).
func (t *thread) scanRange(lo, hi int, s0, s1 []state, ro *db.ReadOptions, what string) {
	bounds := t.rng.IntN(4) // 0: both, 1: lower, 2: upper, 3: none
	if bounds == 0 || bounds == 1 {
		ro.LowerBound = appendKey(nil, lo)
	}
	if bounds == 0 || bounds == 2 {
		ro.UpperBound = appendKey(nil, hi)
	}
	reverse := t.rng.IntN(2) == 0
	what = fmt.Sprintf("%s of [%s, %s) %s", what, keyString(lo), keyString(hi), scanDescription(reverse, ro))
	if s0 == nil {
		s0 = make([]state, hi-lo)
		t.s.exp.loadRange(s0, lo)
	}
	it := t.s.d.NewIterator(ro)
	defer it.Close()
	if s1 == nil {
		s1 = make([]state, hi-lo)
		t.s.exp.loadRange(s1, lo)
	}

	values := make([][]byte, hi-lo)
	seen := make([]bool, hi-lo)
	var ok bool
	switch {
	case !reverse && ro.LowerBound != nil && t.rng.IntN(2) == 0:
		ok = it.First()
	case !reverse:
		ok = it.Seek(appendKey(nil, lo))
	case ro.UpperBound != nil && t.rng.IntN(2) == 0:
		ok = it.Last()
	default:
		ok = it.SeekLT(appendKey(nil, hi))
	}
	step := it.Next
	if reverse {
		step = it.Prev
	}
	prev := -1
	for ; ok; ok = step() {
		i, isKey := parseKey(it.Key(), t.s.c.keys)
		switch {
		case !isKey:
			t.violation(fmt.Sprintf("%s: found key %q, which dbstress never writes", what, it.Key()))
			return
		case prev >= 0 && (!reverse && i <= prev || reverse && i >= prev):
			t.violation(fmt.Sprintf("%s: key %s came after %s", what, keyString(i), keyString(prev)))
			return
		case ro.LowerBound != nil && i < lo || ro.UpperBound != nil && i >= hi:
			t.violation(fmt.Sprintf("%s: found key %s, outside the bounds", what, keyString(i)))
			return
		}
		if i < lo || i >= hi {
			break // past the range (no bound on that side)
		}
		prev = i
		seen[i-lo] = true
		values[i-lo] = append([]byte(nil), it.Value()...)
	}
	if err := it.Error(); err != nil {
		t.fail(what, err)
		return
	}
	for j := range values {
		err := error(nil)
		if !seen[j] {
			err = db.ErrNotFound
		}
		if !t.check(lo+j, s0[j], s1[j], values[j], err, what) {
			return
		}
	}
}

// scanDescription says how a scan went, for a message: "backward, lower bound only".
func scanDescription(reverse bool, ro *db.ReadOptions) string {
	d := "forward"
	if reverse {
		d = "backward"
	}
	switch {
	case ro.LowerBound != nil && ro.UpperBound != nil:
		return d + ", both bounds"
	case ro.LowerBound != nil:
		return d + ", lower bound only"
	case ro.UpperBound != nil:
		return d + ", upper bound only"
	}
	return d + ", no bounds"
}

// heldSnapshot is a snapshot and the states of a range of keys loaded before and after it was
// taken.
type heldSnapshot struct {
	snap   *db.Snapshot
	lo     int
	s0, s1 []state
}

// snapshot takes a snapshot of a range of up to 64 keys, or, when the thread holds one (taken
// by an earlier snapshot operation, many writes ago), reads the range through it with Gets and
// a scan, and releases it.
func (t *thread) snapshot() {
	if t.snap == nil {
		lo, hi := t.randomRange(64)
		h := &heldSnapshot{lo: lo, s0: make([]state, hi-lo), s1: make([]state, hi-lo)}
		t.s.exp.loadRange(h.s0, lo)
		h.snap = t.s.d.NewSnapshot()
		t.s.exp.loadRange(h.s1, lo)
		t.snap = h
		t.s.st.snapshots.Add(1)
		return
	}
	h := t.snap
	t.snap = nil
	defer h.snap.Release()
	for j := range h.s0 {
		ro := t.readOptions()
		ro.Snapshot = h.snap
		v, err := t.s.d.Get(appendKey(nil, h.lo+j), ro)
		if !t.check(h.lo+j, h.s0[j], h.s1[j], v, err, "Get through a snapshot") {
			return
		}
	}
	ro := t.readOptions()
	ro.Snapshot = h.snap
	t.scanRange(h.lo, h.lo+len(h.s0), h.s0, h.s1, ro, "scan through a snapshot")
}

// compact compacts the whole key space (one time in four) or a random range of up to a quarter
// of it.
func (t *thread) compact() {
	var start, limit []byte
	if t.rng.IntN(4) != 0 {
		lo, hi := t.randomRange(max(1, t.s.c.keys/4))
		start, limit = appendKey(nil, lo), appendKey(nil, hi)
	}
	if err := t.s.d.CompactRangeContext(t.ctx, start, limit); err != nil {
		t.fail("CompactRange", err)
		return
	}
	t.s.st.compactions.Add(1)
}

// checkpoint makes a checkpoint of the DB (at most one at a time, one every few seconds), opens
// it read-only and checks every key of it against the states loaded before and after the
// checkpoint, then removes it.
func (t *thread) checkpoint() {
	s := t.s
	if time.Since(time.Unix(0, s.lastCkpt.Load())) < checkpointEvery || !s.ckpt.TryLock() {
		return
	}
	defer s.ckpt.Unlock()
	s.lastCkpt.Store(time.Now().UnixNano())
	dir := filepath.Join(s.c.db, checkpointName)
	if err := os.RemoveAll(dir); err != nil {
		t.fail("checkpoint", err)
		return
	}
	defer os.RemoveAll(dir)
	s0 := make([]state, s.c.keys)
	s.exp.loadRange(s0, 0)
	if err := s.d.CheckpointContext(t.ctx, dir); err != nil {
		t.fail("Checkpoint "+dir, err)
		return
	}
	s1 := make([]state, s.c.keys)
	s.exp.loadRange(s1, 0)
	opts := s.c.options()
	opts.ReadOnly = true
	cd, err := db.Open(dir, opts)
	if err != nil {
		t.fail("open the checkpoint "+dir, err)
		return
	}
	defer cd.Close()
	_, reads, err := verifyDB(cd, s0, s1, s.c.valueSize, t.rng, func(msg string) {
		t.violation("in the checkpoint " + dir + ": " + msg)
	})
	s.st.reads.Add(reads)
	if err != nil {
		t.fail("reading the checkpoint "+dir, err)
		return
	}
	s.st.checkpoints.Add(1)
}
