package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golang/snappy"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/benchgen"
	"github.com/stratadb/strata/internal/crc"
)

const keySize = 16

// runner runs the benchmarks of one invocation against one DB directory.
type runner struct {
	c   *config
	dir string
	out io.Writer
	db  *db.DB
	// threadsStarted counts goroutines over all benchmarks; like db_bench, each is seeded with
	// 1000 plus its count, so seeds differ between benchmarks but repeat between runs.
	threadsStarted int
}

// thread is one goroutine of a benchmark.
type thread struct {
	id    int
	rng   *benchgen.RNG
	s     *stats
	gen   *benchgen.ValueGenerator
	key   []byte
	batch db.Batch
}

// benchmark describes one of db_bench's workloads.
type benchmark struct {
	fresh bool // starts from an empty DB (fill benchmarks)
	run   func(r *runner, t *thread)
	// single runs once, in one goroutine, whatever --threads says (compact, stats, ...).
	single bool
}

var benchmarks = map[string]benchmark{
	"fillseq":      {fresh: true, run: func(r *runner, t *thread) { r.write(t, false, r.c.num, r.c.valueSize, 1, false) }},
	"fillbatch":    {fresh: true, run: func(r *runner, t *thread) { r.write(t, false, r.c.num, r.c.valueSize, 1000, false) }},
	"fillrandom":   {fresh: true, run: func(r *runner, t *thread) { r.write(t, true, r.c.num, r.c.valueSize, 1, false) }},
	"fillsync":     {fresh: true, run: func(r *runner, t *thread) { r.write(t, true, r.c.num/1000, r.c.valueSize, 1, true) }},
	"fill100K":     {fresh: true, run: func(r *runner, t *thread) { r.write(t, true, r.c.num/1000, 100*1000, 1, false) }},
	"overwrite":    {run: func(r *runner, t *thread) { r.write(t, true, r.c.num, r.c.valueSize, 1, false) }},
	"readseq":      {run: func(r *runner, t *thread) { r.readSeq(t, false) }},
	"readreverse":  {run: func(r *runner, t *thread) { r.readSeq(t, true) }},
	"readrandom":   {run: func(r *runner, t *thread) { r.readRandom(t, r.c.num, false) }},
	"readmissing":  {run: func(r *runner, t *thread) { r.readRandom(t, r.c.num, true) }},
	"readhot":      {run: func(r *runner, t *thread) { r.readRandom(t, (r.c.num+99)/100, false) }},
	"seekrandom":   {run: func(r *runner, t *thread) { r.seekRandom(t) }},
	"deleteseq":    {run: func(r *runner, t *thread) { r.delete(t, false) }},
	"deleterandom": {run: func(r *runner, t *thread) { r.delete(t, true) }},
	"txnrandom":    {run: func(r *runner, t *thread) { r.txnRandom(t) }},
	"batch2random": {run: func(r *runner, t *thread) { r.batch2Random(t) }},
	"compact":      {single: true, run: func(r *runner, t *thread) { r.compact(t) }},
	"crc32c":       {run: func(r *runner, t *thread) { crc32c(t) }},
	"snappycomp":   {run: func(r *runner, t *thread) { snappyComp(t) }},
	"snappyuncomp": {run: func(r *runner, t *thread) { snappyUncomp(t) }},
}

// run executes the configured benchmarks and writes their report to out.
func run(c *config, out io.Writer) error {
	names := strings.Split(c.benchmarks, ",")
	for _, n := range names {
		if _, ok := benchmarks[n]; !ok && n != "stats" && n != "" {
			return fmt.Errorf("unknown benchmark %q", n)
		}
	}
	r := &runner{c: c, dir: c.db, out: out}
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "dbbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		r.dir = dir + "/db"
	}
	if c.format == "text" {
		printHeader(out, c)
	}
	defer r.closeDB()
	if !c.useExisting {
		if err := db.Destroy(r.dir); err != nil {
			return err
		}
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		if err := r.runOne(name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (r *runner) options() *db.Options {
	c := r.c
	o := &db.Options{
		WriteBufferSize: c.writeBufferSize,
		BlockSize:       c.blockSize,
		MaxOpenFiles:    c.openFiles,
		MaxFileSize:     c.maxFileSize,
		BloomBitsPerKey: c.bloomBits,
	}
	if c.bloomBits == 0 {
		o.BloomBitsPerKey = -1 // 0 bits is no filter, as in db_bench; Strata's 0 means the default
	}
	if c.cacheSize >= 0 {
		o.BlockCacheSize = max(c.cacheSize, 1)
	}
	if !c.compression {
		o.Compression = db.NoCompression
	}
	return o
}

func (r *runner) openDB() error {
	if r.db != nil {
		return nil
	}
	d, err := db.Open(r.dir, r.options())
	if err != nil {
		return err
	}
	r.db = d
	return nil
}

func (r *runner) closeDB() {
	if r.db != nil {
		r.db.Close()
		r.db = nil
	}
}

func (r *runner) runOne(name string) error {
	if name == "stats" {
		if err := r.openDB(); err != nil {
			return err
		}
		s, _ := r.db.Property("leveldb.stats")
		fmt.Fprintf(r.out, "\n%s\n", s)
		return nil
	}
	b := benchmarks[name]
	if b.fresh && !r.c.useExisting {
		r.closeDB()
		if err := db.Destroy(r.dir); err != nil {
			return err
		}
	}
	if err := r.openDB(); err != nil {
		return err
	}
	n := r.c.threads
	if b.single {
		n = 1
	}
	all := make([]*stats, n)
	threads := make([]*thread, n)
	for i := range threads {
		var p *progress
		if i == 0 {
			p = newProgress(name)
		}
		r.threadsStarted++
		threads[i] = &thread{id: i, rng: benchgen.NewRNG(uint32(1000 + r.threadsStarted)), gen: benchgen.NewValueGenerator(r.c.compressionRatio)}
		all[i] = newStats(r.c.histogram, p)
		threads[i].s = all[i]
	}
	err := benchgen.Together(n, func(i int) error {
		t := threads[i]
		t.s.start, t.s.lastOp = time.Now(), time.Now()
		err := catch(func() { b.run(r, t) })
		t.s.stop()
		return err
	})
	all[0].progress.clear()
	if err != nil {
		return err
	}
	return r.report(merge(name, all))
}

// benchError carries an error out of a benchmark's loop.
type benchError struct{ err error }

func (r *runner) check(err error) {
	if err != nil {
		panic(benchError{err})
	}
}

func catch(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			be, ok := p.(benchError)
			if !ok {
				panic(p)
			}
			err = be.err
		}
	}()
	f()
	return nil
}

func (r *runner) report(res result) error {
	if r.c.format == "json" {
		p, maxLat := percentiles(res.latencies, 50, 90, 99, 99.9)
		obj := map[string]any{
			"benchmark": res.name, "micros_per_op": res.microsPerOp(), "mb_per_s": res.mbPerSec(),
			"ops": res.ops, "bytes": res.bytes, "threads": res.threads, "seconds": res.elapsed.Seconds(),
			"message": res.message,
		}
		if res.countConflicts {
			obj["conflicts"] = res.conflicts
		}
		if r.c.histogram {
			obj["p50_us"], obj["p90_us"], obj["p99_us"], obj["p999_us"], obj["max_us"] =
				micros(p[0]), micros(p[1]), micros(p[2]), micros(p[3]), micros(maxLat)
		}
		return json.NewEncoder(r.out).Encode(obj)
	}
	fmt.Fprintln(r.out, res.line())
	if r.c.histogram {
		fmt.Fprintln(r.out, res.histogramLine())
	}
	return nil
}

// write puts num entries (random or sequential keys) in batches of perBatch.
func (r *runner) write(t *thread, random bool, num, valueSize, perBatch int, sync bool) {
	if num != r.c.num {
		t.s.message = fmt.Sprintf("(%d ops)", num)
	}
	wo := &db.WriteOptions{Sync: sync}
	w := benchgen.Writes{RNG: t.rng, Gen: t.gen, Keys: r.c.num, ValueSize: valueSize, Random: random}
	for i := 0; i < num; i += perBatch {
		t.batch.Reset()
		n := min(perBatch, num-i)
		var bytes int64
		t.key, bytes = w.Put(&t.batch, t.key, i, n)
		t.s.bytes += bytes
		r.check(r.db.Write(&t.batch, wo))
		t.s.finishedOps(n)
	}
}

func (r *runner) readSeq(t *thread, reverse bool) {
	it := r.db.NewIterator(nil)
	defer it.Close()
	ok := it.First()
	if reverse {
		ok = it.Last()
	}
	for i := 0; ok && i < r.c.reads; i++ {
		t.s.bytes += int64(len(it.Key()) + len(it.Value()))
		t.s.finishedOps(1)
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	r.check(it.Error())
}

// readRandom gets random keys among the first space. With missing, it drops the last digit of
// each key, as db_bench does, so no key is found.
func (r *runner) readRandom(t *thread, space int, missing bool) {
	found := 0
	for i := 0; i < r.c.reads; i++ {
		t.key = benchgen.FormatKey(t.key[:0], t.rng.Uniform(space))
		if missing {
			t.key = t.key[:len(t.key)-1]
		}
		v, err := r.db.Get(t.key, nil)
		switch {
		case err == nil:
			found++
			t.s.bytes += int64(len(t.key) + len(v))
		case !errors.Is(err, db.ErrNotFound):
			r.check(err)
		}
		t.s.finishedOps(1)
	}
	t.s.message = fmt.Sprintf("(%d of %d found)", found, r.c.num)
}

func (r *runner) seekRandom(t *thread) {
	found := 0
	for i := 0; i < r.c.reads; i++ {
		t.key = benchgen.FormatKey(t.key[:0], t.rng.Uniform(r.c.num))
		it := r.db.NewIterator(nil)
		if it.Seek(t.key) && string(it.Key()) == string(t.key) {
			found++
		}
		r.check(it.Close())
		t.s.finishedOps(1)
	}
	t.s.message = fmt.Sprintf("(%d of %d found)", found, r.c.num)
}

func (r *runner) delete(t *thread, random bool) {
	for i := 0; i < r.c.num; i++ {
		k := i
		if random {
			k = t.rng.Uniform(r.c.num)
		}
		t.key = benchgen.FormatKey(t.key[:0], k)
		r.check(r.db.Delete(t.key, nil))
		t.s.finishedOps(1)
	}
}

func (r *runner) compact(t *thread) {
	r.check(r.db.CompactRange(nil, nil))
	t.s.finishedOps(1)
}

func crc32c(t *thread) {
	data := []byte(strings.Repeat("x", 4096))
	var sum uint32
	for t.s.bytes < 500<<20 {
		sum = crc.Extend(sum, data)
		t.s.bytes += int64(len(data))
		t.s.finishedOps(1)
	}
	t.s.message = fmt.Sprintf("(4K per op; %08x)", sum)
}

func snappyComp(t *thread) {
	input := t.gen.Generate(4096)
	var out []byte
	var produced int64
	for t.s.bytes < 1<<30 {
		out = snappy.Encode(out[:cap(out)], input)
		produced += int64(len(out))
		t.s.bytes += int64(len(input))
		t.s.finishedOps(1)
	}
	t.s.message = fmt.Sprintf("(output: %.1f%%)", float64(produced)*100/float64(t.s.bytes))
}

func snappyUncomp(t *thread) {
	input := t.gen.Generate(4096)
	compressed := snappy.Encode(nil, input)
	out := make([]byte, len(input))
	for t.s.bytes < 1<<30 {
		var err error
		if out, err = snappy.Decode(out, compressed); err != nil {
			panic(benchError{err})
		}
		t.s.bytes += int64(len(input))
		t.s.finishedOps(1)
	}
}
