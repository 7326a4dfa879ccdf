package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stats counts what the operations did. Reads verified counts every key a read looked at and
// checked: a Get, each key of a scanned range (found or verified absent), a read through a
// snapshot or a transaction, each key of a checkpoint and of the checks after a kill.
type stats struct {
	ops, writes, reads, scans, txns, conflicts, snapshots, compactions, checkpoints atomic.Int64
}

// statNames are the counters in the order of the child's "s" report line (kill.go).
var statNames = []string{"ops", "writes", "reads_verified", "scans", "transactions", "conflicts", "snapshots", "compactions", "checkpoints"}

func (s *stats) counters() []*atomic.Int64 {
	return []*atomic.Int64{&s.ops, &s.writes, &s.reads, &s.scans, &s.txns, &s.conflicts, &s.snapshots, &s.compactions, &s.checkpoints}
}

// values returns the counters in statNames' order.
func (s *stats) values() []int64 {
	cs := s.counters()
	v := make([]int64, len(cs))
	for j, c := range cs {
		v[j] = c.Load()
	}
	return v
}

// killStats counts the kills of --kill.
type killStats struct {
	kills      int // children killed
	killedOpen int // of them, killed before their Open returned (while recovering)
	finished   int // children that ended on their own (the run's time or operations were up)
	recoveries int // verifications of the DB after a child ended
	inFlight   int // writes in flight at the kills (begun, not acknowledged)
	applied    int // of them, found whole in the recovered DB (the others were found absent whole)
}

// failures collects the violations and errors of a run; the first of either ends it. The first
// maxReported of each are printed as they come (print), the others counted.
type failures struct {
	mu         sync.Mutex
	nViolation int
	nErr       int
	fired      bool
	onFirst    func()                 // called once, at the first failure
	print      func(kind, msg string) // nil: not printed (a --kill child reports on its pipe)
}

const maxReported = 10

func (f *failures) add(kind string, n *int, msg string) {
	f.mu.Lock()
	*n++
	if *n <= maxReported && f.print != nil {
		f.print(kind, msg)
	}
	first := !f.fired
	f.fired = true
	f.mu.Unlock()
	if first && f.onFirst != nil {
		f.onFirst()
	}
}

func (f *failures) violation(msg string) { f.add("violation", &f.nViolation, msg) }
func (f *failures) err(msg string)       { f.add("error", &f.nErr, msg) }

func (f *failures) any() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

func (f *failures) counts() (violations, errs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nViolation, f.nErr
}

// output writes the progress lines and the summary, as text or JSON Lines, one line at a time.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (o *output) line(text string, obj map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		b, _ := json.Marshal(obj)
		fmt.Fprintf(o.w, "%s\n", b)
		return
	}
	fmt.Fprintln(o.w, text)
}

// perSecond returns n per second over d.
func perSecond(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// progressLine prints a progress line: the totals so far.
func (r *runner) progressLine(v []int64, kills int, elapsed time.Duration) {
	ops, reads := v[0], v[2]
	text := fmt.Sprintf("dbstress: %s: %d ops (%d ops/s), %d writes, %d reads verified",
		elapsed.Round(time.Second), ops, perSecond(ops, elapsed), v[1], reads)
	obj := map[string]any{"type": "progress", "seconds": elapsed.Seconds(), "ops_per_sec": perSecond(ops, elapsed)}
	for j, name := range statNames {
		obj[name] = v[j]
	}
	if r.c.kill {
		text += fmt.Sprintf(", %d kills", kills)
		obj["kills"] = kills
	}
	r.out.line(text, obj)
}

// summary prints the last line: PASS or FAIL and the totals.
func (r *runner) summary(v []int64, elapsed time.Duration) {
	nv, ne := r.fails.counts()
	result := "PASS"
	if nv+ne > 0 {
		result = "FAIL"
	}
	where := r.c.db
	if r.fsName != "" {
		where += " (" + r.fsName + ")"
	}
	ops := v[0]
	var b strings.Builder
	fmt.Fprintf(&b, "dbstress: %s in %s on %s: %d operations (%d ops/s) by %d threads: %d writes acknowledged, %d reads verified; "+
		"%d scans, %d transactions (%d conflicts), %d snapshots, %d compactions, %d checkpoints",
		result, elapsed.Round(100*time.Millisecond), where, ops, perSecond(ops, elapsed), r.c.threads, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8])
	obj := map[string]any{"type": "summary", "result": strings.ToLower(result), "db": r.c.db, "filesystem": r.fsName,
		"seconds": elapsed.Seconds(), "ops_per_sec": perSecond(ops, elapsed), "threads": r.c.threads, "keys": r.c.keys,
		"seed": r.c.seed, "violations": nv, "errors": ne}
	for j, name := range statNames {
		obj[name] = v[j]
	}
	if r.c.kill {
		k := r.ks
		fmt.Fprintf(&b, "; %d kills (%d during recovery), %d recoveries verified, %d writes in flight at the kills (%d applied, %d lost)",
			k.kills, k.killedOpen, k.recoveries, k.inFlight, k.applied, k.inFlight-k.applied)
		obj["kills"], obj["kills_in_open"], obj["recoveries"] = k.kills, k.killedOpen, k.recoveries
		obj["in_flight"], obj["in_flight_applied"] = k.inFlight, k.applied
	}
	fmt.Fprintf(&b, "; %d violations", nv)
	if ne > 0 {
		fmt.Fprintf(&b, ", %d errors", ne)
	}
	if result == "FAIL" {
		obj["reproduce"] = r.c.reproduce()
	}
	r.out.line(b.String(), obj)
}
