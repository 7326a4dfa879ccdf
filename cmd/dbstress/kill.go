package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// --kill. The parent (this process) owns the expected state. Each iteration it writes the state
// to the expected-state file, starts a child (this program again, with the hidden
// --stress_child flag) that loads the file, opens the DB and runs the operations, reporting
// every write before it begins and after it returns on a pipe (pipe.go). At a random moment the
// parent sends SIGKILL, reads the reports left in the pipe, and, once the child is dead, opens
// the DB itself (every other time read-only, so that the next child's Open does the recovery:
// a kill may land in it) and checks every key: it must hold its last acknowledged write, or the
// write in flight at the kill; and a write in flight (a batch, a transaction) must be there
// whole or not at all. The parent settles each key on what it found, and the next child starts
// from there.

// childEnv is set in a child's environment: the tests' TestMain runs dbstress for it, rather
// than the tests.
const childEnv = "STRATA_DBSTRESS_CHILD"

// openLimit bounds a child's Open: longer is reported as a hang.
const openLimit = 2 * time.Minute

// killState is what the parent knows of the run so far, shared with the progress lines.
type killState struct {
	mu  sync.Mutex
	cur []int64 // the counters the running child reported last
}

// child is one child process and what it reported.
type child struct {
	it      int
	seed    uint64
	delay   time.Duration
	early   bool // the delay counts from the child's start: the kill may land in its Open
	opened  bool // it reported that Open returned
	done    bool // it reported that it finished: its time or operations were up
	killed  bool
	pending map[int][]entry // by thread: the write in flight (reported, not acknowledged)
	out     tail            // its stdout and stderr
}

func (ch *child) name() string { return fmt.Sprintf("child %d (seed %d)", ch.it, ch.seed) }

// tail keeps the last tailMax bytes written to it.
type tail struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 16 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// killRun runs children and kills them until the run's time or operations are up, or a check
// fails.
func (r *runner) killRun(ctx context.Context, exp *expected) {
	self, err := os.Executable()
	if err != nil {
		r.fails.err(fmt.Sprintf("cannot find this program to run it again: %v", err))
		return
	}
	var ks killState
	ks.cur = make([]int64, len(statNames))
	stop := r.progressWith(func() ([]int64, int) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		v := r.st.values()
		for j := range v {
			v[j] += ks.cur[j]
		}
		return v, r.ks.kills
	})
	defer stop()
	rng := r.rng(0x6b696c6c)
	for it := 0; ctx.Err() == nil && !r.fails.any(); it++ {
		var remaining time.Duration
		if r.c.duration > 0 {
			if remaining = time.Until(r.start.Add(r.c.duration)); remaining <= 0 {
				break
			}
		}
		var opsLeft int64
		if r.c.ops > 0 {
			if opsLeft = r.c.ops - r.st.ops.Load(); opsLeft <= 0 {
				break
			}
		}
		if err := saveExpected(r.c.db, exp, statusRunning); err != nil {
			r.fails.err(fmt.Sprintf("writing the expected state: %v", err))
			return
		}
		ch := &child{it: it, seed: mix(r.c.seed ^ uint64(it+1)*0x9e3779b97f4a7c15), pending: map[int][]entry{}}
		if ch.early = rng.IntN(8) == 0; ch.early {
			ch.delay = time.Duration(rng.Int64N(int64(r.c.killMin) + 1))
		} else {
			ch.delay = r.c.killMin + time.Duration(rng.Int64N(int64(r.c.killMax-r.c.killMin)+1))
		}
		r.runChild(ctx, self, ch, exp, &ks, remaining, opsLeft)
		if r.fails.any() {
			return
		}
		r.recoverAfter(ch, exp, rng.Uint64())
	}
}

// runChild runs ch until its kill (or its end), applying its reports to exp as they come.
func (r *runner) runChild(ctx context.Context, self string, ch *child, exp *expected, ks *killState, remaining time.Duration, opsLeft int64) {
	pr, pw, err := os.Pipe()
	if err != nil {
		r.fails.err(fmt.Sprintf("pipe: %v", err))
		return
	}
	defer pr.Close()
	c := *r.c
	c.seed = ch.seed
	args := append(c.args(r.c.db), "--"+childFlag, "--progress=0")
	if remaining > 0 {
		args = append(args, "--duration="+remaining.String())
	}
	if opsLeft > 0 {
		args = append(args, "--ops="+strconv.FormatInt(opsLeft, 10))
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = &ch.out, &ch.out
	cmd.ExtraFiles = []*os.File{pw}
	err = cmd.Start()
	pw.Close() // the child holds the write end now: EOF comes when it dies
	if err != nil {
		r.fails.err(fmt.Sprintf("starting %s: %v", self, err))
		return
	}

	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	killTimer := time.NewTimer(ch.delay)
	if !ch.early {
		killTimer.Stop() // started when the child's Open returns
	}
	defer killTimer.Stop()
	openTimer := time.NewTimer(openLimit)
	defer openTimer.Stop()
	kill := func() {
		_ = cmd.Process.Kill() // SIGKILL
		ch.killed = true
	}
	for running := true; running; {
		select {
		case line, ok := <-lines:
			if !ok {
				running = false // the child ended on its own
				break
			}
			r.handle(ch, line, exp, ks)
			if line == "open" {
				openTimer.Stop()
				if !ch.early {
					killTimer.Reset(ch.delay)
				}
			}
		case <-killTimer.C:
			kill()
			running = false
		case <-openTimer.C:
			if !ch.opened {
				kill()
				r.fails.err(fmt.Sprintf("%s: its Open did not return in %s", ch.name(), openLimit))
				running = false
			}
		case <-ctx.Done():
			kill()
			running = false
		}
	}
	for line := range lines {
		r.handle(ch, line, exp, ks)
	}
	werr := cmd.Wait()

	ks.mu.Lock()
	for j, c := range r.st.counters() {
		c.Add(ks.cur[j])
		ks.cur[j] = 0
	}
	if ch.killed && !ch.done {
		r.ks.kills++
		if !ch.opened {
			r.ks.killedOpen++
		}
	} else {
		r.ks.finished++
	}
	ks.mu.Unlock()

	switch {
	case ch.killed || ch.done && werr == nil:
	case r.fails.any():
		r.printOutput(ch) // it reported what went wrong
	default:
		r.fails.err(fmt.Sprintf("%s ended on its own before its time was up: %v", ch.name(), werr))
		r.printOutput(ch)
	}
}

// printOutput prints what a failed child printed, if anything.
func (r *runner) printOutput(ch *child) {
	if out := strings.TrimSpace(ch.out.String()); out != "" {
		fmt.Fprintf(r.stderr, "dbstress: the output of %s:\n%s\n", ch.name(), out)
	}
}

// handle applies one report of ch.
func (r *runner) handle(ch *child, line string, exp *expected, ks *killState) {
	kind, rest, _ := strings.Cut(line, " ")
	bad := func(why string) { r.fails.err(fmt.Sprintf("%s sent %q: %s", ch.name(), line, why)) }
	thread := func() (int, bool) {
		t, err := strconv.Atoi(strings.Fields(rest + " x")[0])
		return t, err == nil
	}
	switch kind {
	case "open":
		ch.opened = true
	case "done":
		ch.done = true
	case "p":
		t, ok := thread()
		if !ok || ch.pending[t] != nil {
			bad("not a write of a thread without one in flight")
			return
		}
		es, err := parseIntent(strings.Fields(rest)[1:])
		if err != nil {
			bad(err.Error())
			return
		}
		for _, e := range es {
			if e.i < 0 || e.i >= exp.len() || exp.get(e.i).pending() || e.v != exp.get(e.i).version()+1 {
				bad("the write does not follow from the expected state")
				return
			}
		}
		for _, e := range es {
			exp.set(e.i, exp.get(e.i).withPending(e.put))
		}
		ch.pending[t] = es
	case "a", "x":
		t, ok := thread()
		if !ok || ch.pending[t] == nil {
			bad("no write of that thread is in flight")
			return
		}
		for _, e := range ch.pending[t] {
			if s := exp.get(e.i); kind == "a" {
				exp.set(e.i, s.applied())
			} else {
				exp.set(e.i, s.settled())
			}
		}
		delete(ch.pending, t)
	case "s":
		f := strings.Fields(rest)
		if len(f) != len(statNames) {
			bad("wrong number of counters")
			return
		}
		ks.mu.Lock()
		for j := range f {
			ks.cur[j], _ = strconv.ParseInt(f[j], 10, 64)
		}
		ks.mu.Unlock()
	case "v":
		r.fails.violation(ch.name() + ": " + rest)
	case "e":
		r.fails.err(ch.name() + ": " + rest)
	default:
		bad("unknown report")
	}
}

// recoverAfter opens the DB after ch ended and checks every key against the expected state:
// the last acknowledged write, or the write in flight; each write in flight whole or absent.
// It then settles every key on what it found.
func (r *runner) recoverAfter(ch *child, exp *expected, seed uint64) {
	readOnly := ch.it%2 == 1
	what := fmt.Sprintf("after kill %d (%s killed %s after its %s; the DB reopened%s)", r.ks.kills, ch.name(),
		ch.delay.Round(time.Millisecond), map[bool]string{true: "start", false: "Open"}[ch.early], map[bool]string{true: " read-only"}[readOnly])
	if !ch.killed || ch.done {
		what = fmt.Sprintf("after %s finished (the DB reopened%s)", ch.name(), map[bool]string{true: " read-only"}[readOnly])
	}
	d, err := r.openDB(readOnly)
	if err != nil {
		r.fails.violation(fmt.Sprintf("%s: the DB does not open: %v", what, err))
		return
	}
	states := r.states(exp)
	fs, reads, err := verifyDB(d, states, states, r.c.valueSize, r.rng(seed), func(msg string) {
		r.fails.violation(what + ": " + msg)
	})
	if cerr := d.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	r.st.reads.Add(reads)
	if err != nil {
		r.fails.err(fmt.Sprintf("%s: %v", what, err))
		return
	}
	r.settle(ch, exp, fs, what)
	r.ks.recoveries++
}

// settle decides, for each write in flight at the kill, whether the recovered DB holds it,
// checks that it holds it whole or not at all, and sets the expected state to match.
func (r *runner) settle(ch *child, exp *expected, fs []found, what string) {
	threads := make([]int, 0, len(ch.pending))
	for t := range ch.pending {
		threads = append(threads, t)
	}
	sort.Ints(threads)
	for _, t := range threads {
		es := ch.pending[t]
		var newer, older []int // keys found with the write's version, or with the one before
		for _, e := range es {
			s := exp.get(e.i)
			isOld := allowed(s.settled(), s.settled(), fs[e.i])
			isNew := allowed(s.applied(), s.applied(), fs[e.i])
			switch {
			case isNew && !isOld:
				newer = append(newer, e.i)
			case isOld && !isNew:
				older = append(older, e.i)
			}
		}
		if len(newer) > 0 && len(older) > 0 {
			a, b := newer[0], older[0]
			r.fails.violation(fmt.Sprintf("%s: a write of %d keys in flight at the kill was torn: %d of its keys hold it, %d do not: key %s holds %s (the write's), key %s holds %s (from before the write)",
				what, len(es), len(newer), len(older), keyString(a), describeFound(fs[a]), keyString(b), describeFound(fs[b])))
		}
		applied := len(newer) > 0
		r.ks.inFlight++
		if applied {
			r.ks.applied++
		}
		for _, e := range es {
			if s := exp.get(e.i); applied {
				exp.set(e.i, s.applied())
			} else {
				exp.set(e.i, s.settled())
			}
		}
	}
}
