package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// stats are one goroutine's measurements of one benchmark.
type stats struct {
	start, finish time.Time
	done          int64
	bytes         int64
	message       string
	latencies     []time.Duration // per op, when --histogram
	lastOp        time.Time
	progress      *progress // nil unless stderr is a terminal (thread 0 only)
	// conflicts counts the transactions that failed with ErrConflict and ran again, when
	// countConflicts (txnrandom).
	conflicts      int64
	countConflicts bool
}

func newStats(histogram bool, p *progress) *stats {
	s := &stats{progress: p}
	if histogram {
		s.latencies = make([]time.Duration, 0, 1024)
	}
	s.start = time.Now()
	s.lastOp = s.start
	return s
}

// finishedOps records n operations done since the previous call.
func (s *stats) finishedOps(n int) {
	s.done += int64(n)
	if s.latencies != nil {
		now := time.Now()
		s.latencies = append(s.latencies, now.Sub(s.lastOp))
		s.lastOp = now
	}
	if s.progress != nil && s.done&1023 < int64(n) {
		s.progress.maybePrint(s.done)
	}
}

func (s *stats) stop() { s.finish = time.Now() }

// result merges every goroutine's stats: operations, bytes and conflicts add up, the elapsed
// time runs from the first start to the last finish, and, as db_bench reports it, micros/op is
// the goroutines' summed time over the summed operations.
type result struct {
	name        string
	threads     int
	ops         int64
	bytes       int64
	elapsed     time.Duration
	threadTime  time.Duration
	message     string
	latencies   []time.Duration
	noTimingRow bool // e.g. "stats": prints its own output
	// conflicts is the goroutines' conflicts added up, and the message when countConflicts.
	conflicts      int64
	countConflicts bool
}

func merge(name string, all []*stats) result {
	r := result{name: name, threads: len(all)}
	for _, s := range all {
		r.ops += s.done
		r.bytes += s.bytes
		r.threadTime += s.finish.Sub(s.start)
		r.latencies = append(r.latencies, s.latencies...)
		if s.message != "" {
			r.message = s.message
		}
		r.conflicts += s.conflicts
		r.countConflicts = r.countConflicts || s.countConflicts
	}
	if r.countConflicts {
		r.message = fmt.Sprintf("(%d conflicts)", r.conflicts)
	}
	first, last := all[0].start, all[0].finish
	for _, s := range all {
		if s.start.Before(first) {
			first = s.start
		}
		if s.finish.After(last) {
			last = s.finish
		}
	}
	r.elapsed = last.Sub(first)
	return r
}

func (r result) microsPerOp() float64 {
	if r.ops == 0 {
		return 0
	}
	return float64(r.threadTime.Microseconds()) / float64(r.ops)
}

func (r result) mbPerSec() float64 {
	if r.bytes == 0 || r.elapsed <= 0 {
		return 0
	}
	return float64(r.bytes) / (1 << 20) / r.elapsed.Seconds()
}

// line formats the result as db_bench does.
func (r result) line() string {
	extra := ""
	if mb := r.mbPerSec(); mb > 0 {
		extra = fmt.Sprintf("%6.1f MB/s", mb)
	}
	if r.message != "" {
		if extra != "" {
			extra += " "
		}
		extra += r.message
	}
	if extra != "" {
		extra = " " + extra
	}
	return fmt.Sprintf("%-12s : %11.3f micros/op;%s", r.name, r.microsPerOp(), extra)
}

// percentiles returns the latencies at the given percentiles (0-100) and the maximum.
func percentiles(lat []time.Duration, ps ...float64) (out []time.Duration, maxLat time.Duration) {
	if len(lat) == 0 {
		return make([]time.Duration, len(ps)), 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	for _, p := range ps {
		i := int(p / 100 * float64(len(s)))
		out = append(out, s[min(i, len(s)-1)])
	}
	return out, s[len(s)-1]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// histogramLine prints the latency percentiles of a result.
func (r result) histogramLine() string {
	p, maxLat := percentiles(r.latencies, 50, 90, 99, 99.9)
	return fmt.Sprintf("Microseconds per op: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%d samples)",
		micros(p[0]), micros(p[1]), micros(p[2]), micros(p[3]), micros(maxLat), len(r.latencies))
}

// progress prints "... finished N ops" on stderr, at most once a second after the first two
// seconds, when stderr is a terminal.
type progress struct {
	name    string
	start   time.Time
	lastOut time.Time
}

func newProgress(name string) *progress {
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	now := time.Now()
	return &progress{name: name, start: now, lastOut: now}
}

func (p *progress) maybePrint(done int64) {
	now := time.Now()
	if now.Sub(p.start) < 2*time.Second || now.Sub(p.lastOut) < time.Second {
		return
	}
	p.lastOut = now
	fmt.Fprintf(os.Stderr, "%-12s : ... finished %d ops%20s\r", p.name, done, "")
}

func (p *progress) clear() {
	if p != nil && time.Since(p.start) >= 2*time.Second {
		fmt.Fprintf(os.Stderr, "%70s\r", "")
	}
}
