package workload

import (
	"fmt"
	"os"
	"time"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/internal/benchgen"
)

// Config are db_bench's flags that shape the workloads.
type Config struct {
	Num              int     // keys in the key space, and operations of most workloads
	Reads            int     // operations of the read workloads
	ValueSize        int     // bytes of each value
	CompressionRatio float64 // fraction of each value snappy keeps
}

// DefaultConfig is db_bench's: 1,000,000 keys, as many reads, 100-byte values that snappy halves.
func DefaultConfig() Config {
	return Config{Num: 1_000_000, Reads: 1_000_000, ValueSize: 100, CompressionRatio: 0.5}
}

// Runner runs steps against one engine's DB in one directory.
type Runner struct {
	e        *engine.Engine
	dir      string
	settings engine.Settings
	cfg      Config
	db       engine.DB
	// threadsStarted counts goroutines over all steps; each is seeded with 1000 plus its count,
	// as db_bench seeds its threads.
	threadsStarted int
}

// NewRunner returns a runner for e in dir, which it owns: fresh steps delete everything in it.
func NewRunner(e *engine.Engine, dir string, s engine.Settings, cfg Config) *Runner {
	return &Runner{e: e, dir: dir, settings: s, cfg: cfg}
}

// Close closes the DB, if open.
func (r *Runner) Close() error {
	if r.db == nil {
		return nil
	}
	err := r.db.Close()
	r.db = nil
	return err
}

// Result is one step's measurement, merged over its goroutines as db_bench merges them.
type Result struct {
	Workload string `json:"workload"` // the spec, such as "fillsync/threads=8"
	Setup    bool   `json:"setup,omitempty"`
	Threads  int    `json:"threads"`
	Ops      int64  `json:"ops"`
	Bytes    int64  `json:"bytes"`
	// Elapsed runs from the first goroutine's start to the last one's finish; ThreadTime is
	// the goroutines' times added up.
	ElapsedNS    int64  `json:"elapsed_ns"`
	ThreadTimeNS int64  `json:"thread_time_ns"`
	Message      string `json:"message,omitempty"`
	Conflicts    int64  `json:"conflicts,omitempty"` // txnrandom's transactions that ran again
	// Skipped says why the engine did not run the workload (txnrandom on an engine without
	// transactions): the result is "n/a", not a measurement.
	Skipped string `json:"skipped,omitempty"`
}

// MicrosPerOp is db_bench's figure: the goroutines' summed time over the summed operations
// (with several goroutines, the mean latency of an operation, not the inverse of throughput).
func (r Result) MicrosPerOp() float64 {
	if r.Ops == 0 {
		return 0
	}
	return float64(r.ThreadTimeNS) / 1e3 / float64(r.Ops)
}

// OpsPerSec is the throughput: operations over elapsed wall time.
func (r Result) OpsPerSec() float64 {
	if r.ElapsedNS <= 0 {
		return 0
	}
	return float64(r.Ops) / (float64(r.ElapsedNS) / 1e9)
}

// MBPerSec is db_bench's MB/s: bytes of keys and values over elapsed wall time.
func (r Result) MBPerSec() float64 {
	if r.ElapsedNS <= 0 {
		return 0
	}
	return float64(r.Bytes) / (1 << 20) / (float64(r.ElapsedNS) / 1e9)
}

// Line formats r as db_bench does: "fillseq      :       1.765 micros/op;   62.7 MB/s"; a
// skipped workload is "txnrandom    :         n/a (no transactions)".
func (r Result) Line() string {
	name := r.Workload
	if r.Setup {
		name += " (setup)"
	}
	if r.Skipped != "" {
		return fmt.Sprintf("%-12s : %11s (%s)", name, "n/a", r.Skipped)
	}
	extra := ""
	if r.Bytes > 0 {
		extra = fmt.Sprintf(" %6.1f MB/s", r.MBPerSec())
	}
	if r.Message != "" {
		extra += " " + r.Message
	}
	return fmt.Sprintf("%-12s : %11.3f micros/op;%s", name, r.MicrosPerOp(), extra)
}

// thread is one goroutine of a step.
type thread struct {
	rng       *benchgen.RNG
	gen       *benchgen.ValueGenerator
	key       []byte
	batch     engine.Batch
	entries   benchgen.Entries // txnrandom's keys and values
	start     time.Time
	finish    time.Time
	done      int64
	bytes     int64
	message   string
	conflicts int64 // txnrandom's transactions that ran again
}

// Run runs one step and returns its result.
func (r *Runner) Run(step Step) (Result, error) {
	k, ok := kinds[step.Name]
	if !ok {
		return Result{}, fmt.Errorf("unknown workload %q", step.Name)
	}
	if k.fresh {
		if err := r.Close(); err != nil {
			return Result{}, err
		}
		if err := os.RemoveAll(r.dir); err != nil {
			return Result{}, err
		}
	}
	if r.db == nil {
		d, err := r.e.Open(r.dir, r.settings)
		if err != nil {
			return Result{}, err
		}
		r.db = d
	}
	n := step.Threads
	if k.single {
		n = 1
	}
	if _, ok := r.db.(engine.Transactor); step.Name == "txnrandom" && !ok {
		// Count the goroutines all the same, so that the steps after this one draw the same
		// keys as on the engines that ran it.
		r.threadsStarted += n
		return Result{Workload: step.Spec.String(), Setup: step.Setup, Threads: n, Skipped: "no transactions"}, nil
	}
	threads := make([]*thread, n)
	for i := range threads {
		r.threadsStarted++
		threads[i] = &thread{
			rng:   benchgen.NewRNG(uint32(1000 + r.threadsStarted)),
			gen:   benchgen.NewValueGenerator(r.cfg.CompressionRatio),
			batch: r.db.NewBatch(),
		}
	}
	if err := benchgen.Together(n, func(i int) error {
		t := threads[i]
		t.start = time.Now()
		err := r.body(step.Name, t)
		t.finish = time.Now()
		return err
	}); err != nil {
		return Result{}, err
	}
	res := Result{Workload: step.Spec.String(), Setup: step.Setup, Threads: n}
	first, last := threads[0].start, threads[0].finish
	for _, t := range threads {
		res.Ops += t.done
		res.Bytes += t.bytes
		res.ThreadTimeNS += int64(t.finish.Sub(t.start))
		if t.message != "" {
			res.Message = t.message
		}
		res.Conflicts += t.conflicts
		if t.start.Before(first) {
			first = t.start
		}
		if t.finish.After(last) {
			last = t.finish
		}
	}
	res.ElapsedNS = int64(last.Sub(first))
	if step.Name == "txnrandom" {
		res.Message = fmt.Sprintf("(%d conflicts)", res.Conflicts)
	}
	return res, nil
}

// body is one goroutine's work for workload name.
func (r *Runner) body(name string, t *thread) error {
	c := r.cfg
	switch name {
	case "fillseq":
		return r.write(t, false, c.Num, c.ValueSize, 1, false)
	case "fillbatch":
		return r.write(t, false, c.Num, c.ValueSize, 1000, false)
	case "fillrandom", "overwrite":
		return r.write(t, true, c.Num, c.ValueSize, 1, false)
	case "fillsync":
		return r.write(t, true, c.Num/1000, c.ValueSize, 1, true)
	case "fill100K":
		return r.write(t, true, c.Num/1000, 100*1000, 1, false)
	case "readrandom":
		return r.readRandom(t, c.Num, false)
	case "readmissing":
		return r.readRandom(t, c.Num, true)
	case "readhot":
		return r.readRandom(t, (c.Num+99)/100, false)
	case "readseq":
		return r.readSeq(t, false)
	case "readreverse":
		return r.readSeq(t, true)
	case "seekrandom":
		return r.seekRandom(t)
	case "deleteseq":
		return r.delete(t, false)
	case "deleterandom":
		return r.delete(t, true)
	case "compact":
		t.done = 1
		return r.db.CompactAll()
	case "txnrandom":
		return r.txnRandom(t, r.db.(engine.Transactor))
	case "batch2random":
		return r.batch2Random(t)
	}
	return fmt.Errorf("unknown workload %q", name)
}

// write puts num entries (random or sequential keys) in batches of perBatch, through Write as
// db_bench does even for single puts.
func (r *Runner) write(t *thread, random bool, num, valueSize, perBatch int, sync bool) error {
	if num != r.cfg.Num {
		t.message = fmt.Sprintf("(%d ops)", num)
	}
	w := benchgen.Writes{RNG: t.rng, Gen: t.gen, Keys: r.cfg.Num, ValueSize: valueSize, Random: random}
	for i := 0; i < num; i += perBatch {
		t.batch.Reset()
		n := min(perBatch, num-i)
		var bytes int64
		t.key, bytes = w.Put(t.batch, t.key, i, n)
		t.bytes += bytes
		if err := r.db.Write(t.batch, sync); err != nil {
			return err
		}
		t.done += int64(n)
	}
	return nil
}

func (r *Runner) readSeq(t *thread, reverse bool) error {
	it, err := r.db.NewIterator()
	if err != nil {
		return err
	}
	ok := false
	if reverse {
		ok = it.Last()
	} else {
		ok = it.First()
	}
	for i := 0; ok && i < r.cfg.Reads; i++ {
		t.bytes += int64(len(it.Key()) + len(it.Value()))
		t.done++
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	return it.Close()
}

// readRandom gets random keys among the first space. With missing it drops each key's last
// digit, as db_bench does, so no key is found.
func (r *Runner) readRandom(t *thread, space int, missing bool) error {
	found := 0
	for i := 0; i < r.cfg.Reads; i++ {
		t.key = benchgen.FormatKey(t.key[:0], t.rng.Uniform(space))
		if missing {
			t.key = t.key[:len(t.key)-1]
		}
		v, ok, err := r.db.Get(t.key)
		if err != nil {
			return err
		}
		if ok {
			found++
			t.bytes += int64(len(t.key) + len(v))
		}
		t.done++
	}
	t.message = fmt.Sprintf("(%d of %d found)", found, r.cfg.Num) // db_bench prints num_
	return nil
}

// seekRandom opens an iterator per operation and seeks it to a random key, as db_bench does.
func (r *Runner) seekRandom(t *thread) error {
	found := 0
	for i := 0; i < r.cfg.Reads; i++ {
		t.key = benchgen.FormatKey(t.key[:0], t.rng.Uniform(r.cfg.Num))
		it, err := r.db.NewIterator()
		if err != nil {
			return err
		}
		if it.Seek(t.key) && string(it.Key()) == string(t.key) {
			found++
		}
		if err := it.Close(); err != nil {
			return err
		}
		t.done++
	}
	t.message = fmt.Sprintf("(%d of %d found)", found, r.cfg.Num) // db_bench prints num_
	return nil
}

func (r *Runner) delete(t *thread, random bool) error {
	for i := 0; i < r.cfg.Num; i++ {
		k := i
		if random {
			k = t.rng.Uniform(r.cfg.Num)
		}
		t.key = benchgen.FormatKey(t.key[:0], k)
		if err := r.db.Delete(t.key, false); err != nil {
			return err
		}
		t.done++
	}
	return nil
}

// txnRandom runs --num transactions, each reading two random keys (found or not) and writing
// both with new values, unsynced. The keys and values are drawn once per transaction, as
// batch2random draws them, and a transaction that conflicts runs again with the same ones.
func (r *Runner) txnRandom(t *thread, tr engine.Transactor) error {
	w := benchgen.Writes{RNG: t.rng, Gen: t.gen, Keys: r.cfg.Num, ValueSize: r.cfg.ValueSize, Random: true}
	e := &t.entries
	body := func(tx engine.Txn) error {
		for _, k := range e.Keys {
			if _, _, err := tx.Get(k); err != nil {
				return err
			}
		}
		for i, k := range e.Keys {
			if err := tx.Put(k, e.Values[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < r.cfg.Num; i++ {
		e.Reset()
		var bytes int64
		t.key, bytes = w.Put(e, t.key, 2*i, 2)
		c, err := tr.Update(body)
		if err != nil {
			return err
		}
		t.conflicts += int64(c)
		t.bytes += bytes
		t.done++
	}
	return nil
}

// batch2Random is txnrandom's baseline: --num batches of two puts of the keys and values
// txnrandom draws, reading nothing.
func (r *Runner) batch2Random(t *thread) error {
	w := benchgen.Writes{RNG: t.rng, Gen: t.gen, Keys: r.cfg.Num, ValueSize: r.cfg.ValueSize, Random: true}
	for i := 0; i < r.cfg.Num; i++ {
		t.batch.Reset()
		var bytes int64
		t.key, bytes = w.Put(t.batch, t.key, 2*i, 2)
		if err := r.db.Write(t.batch, false); err != nil {
			return err
		}
		t.bytes += bytes
		t.done++
	}
	return nil
}
