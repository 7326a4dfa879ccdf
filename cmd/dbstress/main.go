package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/buildinfo"
)

// Exit statuses. Never change them: scripts depend on them.
const (
	exitOK        = 0 // every check passed
	exitViolation = 1 // a violation, or an error of the DB
	exitUsage     = 2 // wrong usage, or a directory that cannot be used
)

func main() { os.Exit(command(os.Args[1:], os.Stdout, os.Stderr)) }

// usageError is an error that exits with exitUsage.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// command is dbstress run with args (without the program name); it returns the exit status.
func command(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err == flag.ErrHelp {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "dbstress: %v (dbstress --help lists the flags)\n", err)
		return exitUsage
	}
	if c.version {
		fmt.Fprintln(stdout, buildinfo.Line("dbstress"))
		return exitOK
	}
	if c.child {
		return runChild(c)
	}
	return run(c, stdout, stderr)
}

// runner is one run of dbstress, in the process the user started.
type runner struct {
	c      *config
	out    *output
	stderr io.Writer
	start  time.Time
	fsName string
	st     stats     // the counters (in --kill mode: of the children that ended)
	ks     killStats // --kill
	fails  failures
}

// startMode says what the directory held.
type startMode int

const (
	startFresh  startMode = iota // an empty or missing directory
	startVerify                  // an earlier run's DB, its expected state exact: verify it first
	startAdopt                   // an earlier run's DB whose run did not finish: adopt what it holds
)

func run(c *config, stdout, stderr io.Writer) int {
	r := &runner{c: c, out: &output{w: stdout, json: c.format == "json"}, stderr: stderr, start: time.Now()}
	r.fails.print = func(kind, msg string) { fmt.Fprintf(stderr, "dbstress: %s: %s\n", kind, msg) }
	exp, mode, err := r.prepare()
	if err != nil {
		fmt.Fprintln(stderr, "dbstress:", err)
		return exitUsage
	}
	r.fsName = fsType(c.db)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.fails.onFirst = cancel
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			signal.Stop(sigs) // a second ^C ends the program at once
			fmt.Fprintln(stderr, "dbstress: interrupted: finishing (the checks still run; ^C again to quit now)")
			cancel()
		case <-ctx.Done():
		}
	}()

	r.header(mode)
	if mode != startFresh {
		if err := r.verifyAtStart(exp, mode == startAdopt); err != nil {
			fmt.Fprintln(stderr, "dbstress:", err)
			return exitUsage
		}
	}
	if !r.fails.any() {
		if c.kill {
			r.killRun(ctx, exp)
		} else {
			r.inProcess(ctx, exp)
		}
	}
	return r.finish(exp)
}

// prepare checks the directory: a missing one is created, an empty one used, one that holds an
// earlier run's DB and expected state continued; anything else is refused (an error of usage),
// so that dbstress never writes into a directory that is not its own.
func (r *runner) prepare() (*expected, startMode, error) {
	dir := r.c.db
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, 0, fmt.Errorf("cannot create %s: %v", dir, err)
		}
		return newExpected(r.c.keys), startFresh, nil
	case err != nil:
		return nil, 0, fmt.Errorf("cannot use %s: %v", dir, err)
	case !fi.IsDir():
		return nil, 0, fmt.Errorf("%s is not a directory", dir)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read %s: %v", dir, err)
	}
	if len(names) == 0 {
		return newExpected(r.c.keys), startFresh, nil
	}
	exp, status, err := loadExpected(dir)
	switch {
	case errors.Is(err, errNoExpected):
		if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err == nil {
			return nil, 0, fmt.Errorf("%s holds a DB that dbstress did not create (it has no %s): dbstress writes into the DB it stresses; give it a new or empty directory", dir, expectedName)
		}
		return nil, 0, fmt.Errorf("%s is not empty and is not a dbstress directory (it has no %s): give a new or empty directory", dir, expectedName)
	case err != nil:
		return nil, 0, fmt.Errorf("cannot read the expected state: %v", err)
	case exp.len() != r.c.keys:
		return nil, 0, fmt.Errorf("%s was stressed with --keys=%d: give that, or a new directory", dir, exp.len())
	case status == statusFailed:
		return nil, 0, fmt.Errorf("%s holds the DB of a run that found a violation, kept for inspection: give a new directory (or remove it)", dir)
	case status == statusRunning:
		return exp, startAdopt, nil
	}
	return exp, startVerify, nil
}

// header prints what the run will do.
func (r *runner) header(mode startMode) {
	c := r.c
	where := c.db
	if r.fsName != "" {
		where += " (" + r.fsName + ")"
	}
	text := fmt.Sprintf("dbstress: %s: %d threads, %d keys, values of about %d bytes, %g%% of writes synced, seed %d",
		where, c.threads, c.keys, c.valueSize, 100*c.syncRatio, c.seed)
	switch {
	case c.duration > 0 && c.ops > 0:
		text += fmt.Sprintf(", for %s or %d operations", c.duration, c.ops)
	case c.duration > 0:
		text += fmt.Sprintf(", for %s", c.duration)
	default:
		text += fmt.Sprintf(", for %d operations", c.ops)
	}
	if c.kill {
		text += fmt.Sprintf("; in child processes, each killed (SIGKILL) %s-%s after its Open", c.killMin, c.killMax)
	}
	text += []string{"; a new DB", "; continuing the DB of an earlier run (verified first)",
		"; continuing the DB of an earlier run that did not finish (its values are checked, then adopted)"}[mode]
	r.out.line(text, map[string]any{"type": "start", "db": c.db, "filesystem": r.fsName, "threads": c.threads,
		"keys": c.keys, "value_size": c.valueSize, "sync_ratio": c.syncRatio, "seed": c.seed, "kill": c.kill,
		"duration_s": c.duration.Seconds(), "ops": c.ops, "continued": mode != startFresh})
}

// openDB opens the DB; readOnly opens it with Options.ReadOnly.
func (r *runner) openDB(readOnly bool) (*db.DB, error) {
	opts := r.c.options()
	opts.ReadOnly = readOnly
	return db.Open(r.c.db, opts)
}

// verifyAtStart checks the DB an earlier run left against its expected state, or, when that run
// did not finish, checks its values and adopts them. An error (the DB is locked by another
// process) is one of usage.
func (r *runner) verifyAtStart(exp *expected, adopting bool) error {
	d, err := r.openDB(false)
	if errors.Is(err, db.ErrLocked) {
		return fmt.Errorf("%s is in use by another process: %v", r.c.db, err)
	}
	if err != nil {
		r.fails.violation(fmt.Sprintf("the DB an earlier run left does not open: %v", err))
		return nil
	}
	defer d.Close()
	states := r.states(exp)
	var s0 []state
	if !adopting {
		s0 = states
	}
	fs, reads, err := verifyDB(d, s0, states, r.c.valueSize, r.rng(0x7374617274), func(msg string) {
		r.fails.violation("the DB an earlier run left: " + msg)
	})
	r.st.reads.Add(reads)
	if err != nil {
		r.fails.err(fmt.Sprintf("reading the DB an earlier run left: %v", err))
		return nil
	}
	if adopting {
		adopt(exp, fs)
	}
	return nil
}

// rng returns a generator drawn from the run's seed and salt.
func (r *runner) rng(salt uint64) *rand.Rand { return rand.New(rand.NewPCG(r.c.seed, salt)) }

// states returns the states of every key.
func (r *runner) states(exp *expected) []state {
	s := make([]state, exp.len())
	exp.loadRange(s, 0)
	return s
}

// inProcess runs the operations in this process, then closes the DB, reopens it and verifies
// every key.
func (r *runner) inProcess(ctx context.Context, exp *expected) {
	if err := saveExpected(r.c.db, exp, statusRunning); err != nil {
		r.fails.err(fmt.Sprintf("writing the expected state: %v", err))
		return
	}
	d, err := r.openDB(false)
	if err != nil {
		r.fails.err(fmt.Sprintf("open: %v", err))
		return
	}
	if r.c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.c.duration)
		defer cancel()
	}
	s := &stress{c: r.c, d: d, exp: exp, st: &r.st, fails: &r.fails, stderr: r.stderr}
	stop := r.progressWith(func() ([]int64, int) { return r.st.values(), 0 })
	s.run(ctx)
	stop()
	if err := d.Close(); err != nil {
		r.fails.err(fmt.Sprintf("close: %v", err))
		return
	}
	if r.fails.any() {
		return
	}
	r.verifyReopened(exp, "after the run, reopened")
}

// verifyReopened opens the DB again and checks every key against exp exactly.
func (r *runner) verifyReopened(exp *expected, what string) {
	d, err := r.openDB(false)
	if err != nil {
		r.fails.violation(fmt.Sprintf("%s: the DB does not open: %v", what, err))
		return
	}
	defer d.Close()
	states := r.states(exp)
	_, reads, err := verifyDB(d, states, states, r.c.valueSize, r.rng(0x656e64), func(msg string) {
		r.fails.violation(what + ": " + msg)
	})
	r.st.reads.Add(reads)
	if err != nil {
		r.fails.err(fmt.Sprintf("%s: %v", what, err))
	}
}

// progressWith prints a progress line every --progress, of the counters and kills values
// returns, until the returned function is called.
func (r *runner) progressWith(values func() ([]int64, int)) (stop func()) {
	if r.c.progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(r.c.progress)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				v, kills := values()
				r.progressLine(v, kills, time.Since(r.start))
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// finish saves the expected state (clean, or failed to keep the directory for inspection),
// prints how to reproduce a failure and the summary, and returns the exit status.
func (r *runner) finish(exp *expected) int {
	elapsed := time.Since(r.start)
	_ = os.RemoveAll(filepath.Join(r.c.db, checkpointName))
	status := uint32(statusClean)
	if r.fails.any() {
		status = statusFailed
	}
	if err := saveExpected(r.c.db, exp, status); err != nil {
		r.fails.err(fmt.Sprintf("writing the expected state: %v", err))
	}
	nv, ne := r.fails.counts()
	if nv > maxReported || ne > maxReported {
		fmt.Fprintf(r.stderr, "dbstress: %d violations and %d errors in all; the first %d of each are above\n", nv, ne, maxReported)
	}
	if nv+ne > 0 {
		fmt.Fprintf(r.stderr, "dbstress: seed %d; run again with: %s\n", r.c.seed, r.c.reproduce())
		fmt.Fprintf(r.stderr, "dbstress: the DB and its expected state are kept in %s for inspection (sstdump db --check %s)\n", r.c.db, r.c.db)
	}
	r.summary(r.st.values(), elapsed)
	if nv+ne > 0 {
		return exitViolation
	}
	return exitOK
}
