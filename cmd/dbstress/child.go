package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/stratadb/strata/db"
)

// statsEvery is how often a --kill child reports its counters.
const statsEvery = 100 * time.Millisecond

// runChild is a --kill child: it loads the expected state the parent wrote, opens the DB
// (recovering from the previous kill), runs the operations with its reports on the pipe (file
// descriptor 3), and, if its time or operations run out before its kill, closes the DB. Its
// exit status is 0 when it finished clean, 1 after a violation or an error, 2 when it could not
// start.
func runChild(c *config) int {
	signal.Ignore(os.Interrupt) // a ^C reaches the whole process group: the parent decides
	rep := &reporter{f: os.NewFile(3, "dbstress-reports")}
	exp, _, err := loadExpected(c.db)
	if err == nil && exp.len() != c.keys {
		err = fmt.Errorf("the expected state has %d keys, not %d", exp.len(), c.keys)
	}
	if err != nil {
		rep.err(fmt.Sprintf("child: %v", err))
		return exitUsage
	}
	d, err := db.Open(c.db, c.options())
	if err != nil {
		rep.violation(fmt.Sprintf("the DB does not open: %v", err))
		return exitViolation
	}
	rep.send([]byte("open\n"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	var st stats
	fails := &failures{onFirst: cancel}
	s := &stress{c: c, d: d, exp: exp, st: &st, fails: fails, rep: rep, stderr: os.Stderr}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(statsEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				rep.stats(st.values())
			case <-done:
				return
			}
		}
	}()
	s.run(ctx)
	close(done)
	if err := d.Close(); err != nil {
		rep.err(fmt.Sprintf("close: %v", err))
		return exitViolation
	}
	rep.stats(st.values())
	rep.send([]byte("done\n"))
	if fails.any() {
		return exitViolation
	}
	return exitOK
}

// stallLimit is how long the operations may all stand still before watch declares the DB hung.
const stallLimit = 2 * time.Minute

// watch ends the program when no operation completes for stallLimit until ctx is done: a
// deadlock or a hung write. It prints the goroutines' stacks to w first, for the bug report.
func (s *stress) watch(ctx context.Context, w io.Writer) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, since := s.st.ops.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n := s.st.ops.Load(); n != last {
			last, since = n, time.Now()
			continue
		}
		if time.Since(since) < stallLimit {
			continue
		}
		msg := fmt.Sprintf("no operation completed for %s: the DB seems hung (the goroutines' stacks follow on stderr)", stallLimit)
		s.fails.err(msg)
		s.rep.err(msg)
		fmt.Fprintln(w, "dbstress: error:", msg)
		_ = pprof.Lookup("goroutine").WriteTo(w, 2)
		os.Exit(exitViolation)
	}
}
