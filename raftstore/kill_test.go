//go:build unix

package raftstore_test

// TestKillStoreLogs: the store's durability promise with real processes. Each iteration starts a
// child (this test binary again, running TestKillStoreLogsChild) that opens the store and
// appends batches of 1 to 64 entries as raft would, synced, now and then deleting the log's
// head as raft does after a snapshot. Before each call it reports the call ("store LO HI",
// "delete LO HI") on a pipe, after it returns "ack": one write(2) each, so a report is there
// whole or not at all. The parent sends SIGKILL at a random moment, reopens the store and
// requires the state of every acknowledged call, plus the call in flight either whole or not
// at all: the bounds are one of those two, and every index between them holds its entry.
// The next iteration's child carries on from there.

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/testutil/testseed"
	"github.com/stratadb/strata/raftstore"
)

const (
	killDirEnv  = "RAFTSTORE_KILL_DIR"
	killSeedEnv = "RAFTSTORE_KILL_SEED"
	// killChildLimit ends a child that nobody killed (its parent died).
	killChildLimit = time.Minute
)

// killOptions give the store a small write buffer, so that flushes and compactions run while
// the child writes and are interrupted by the kill too.
func killOptions() *raftstore.Options {
	return &raftstore.Options{DB: &db.Options{WriteBufferSize: 256 << 10}}
}

// TestKillStoreLogsChild is the child of TestKillStoreLogs; run directly, it skips.
func TestKillStoreLogsChild(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("the child process of TestKillStoreLogs; runs only when that test starts it")
	}
	seed, err := strconv.ParseUint(os.Getenv(killSeedEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	out := os.NewFile(3, "reports") // the pipe to the parent, ExtraFiles[0]
	report := func(format string, args ...any) {
		if _, err := fmt.Fprintf(out, format+"\n", args...); err != nil {
			os.Exit(3) // the parent is gone
		}
	}
	fail := func(err error) {
		report("error %s", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(2)
	}
	s, err := raftstore.Open(dir, killOptions())
	if err != nil {
		fail(err)
	}
	first, err := s.FirstIndex()
	if err != nil {
		fail(err)
	}
	last, err := s.LastIndex()
	if err != nil {
		fail(err)
	}
	report("open %d %d", first, last)
	r := rand.New(rand.NewPCG(seed, 2))
	for start := time.Now(); time.Since(start) < killChildLimit; {
		if last > first+500 && r.IntN(20) == 0 {
			hi := last - 200 - r.Uint64N(100)
			report("delete %d %d", first, hi)
			if err := s.DeleteRange(first, hi); err != nil {
				fail(err)
			}
			first = hi + 1
		} else {
			lo, hi := last+1, last+1+r.Uint64N(64)
			report("store %d %d", lo, hi)
			if err := s.StoreLogs(testLogs(lo, hi, 1)); err != nil {
				fail(err)
			}
			if first == 0 {
				first = lo
			}
			last = hi
		}
		report("ack")
	}
	os.Exit(4)
}

// killBounds is the log's first and last index, as the parent's model has it.
type killBounds struct{ first, last uint64 }

// apply returns b after the call reported as op.
func (b killBounds) apply(op string) (killBounds, error) {
	var kind string
	var lo, hi uint64
	if _, err := fmt.Sscanf(op, "%s %d %d", &kind, &lo, &hi); err != nil {
		return b, fmt.Errorf("bad report %q: %v", op, err)
	}
	switch kind {
	case "store":
		if b.first == 0 {
			b.first = lo
		}
		b.last = hi
	case "delete":
		b.first = hi + 1
	default:
		return b, fmt.Errorf("bad report %q", op)
	}
	return b, nil
}

// killRun is what the parent learned from one child.
type killRun struct {
	opened   bool
	open     killBounds // the bounds the child found
	acked    killBounds // the bounds after every acknowledged call
	inFlight string     // the call reported but not acknowledged, if any
	errMsg   string
	output   string
}

// runKillChild starts a child on dir, kills it delay after it reported its open, and returns
// what it reported.
func runKillChild(t *testing.T, dir string, seed uint64, delay time.Duration) killRun {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillStoreLogsChild$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir, killSeedEnv+"="+strconv.FormatUint(seed, 10))
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.ExtraFiles = []*os.File{w}
	require.NoError(t, cmd.Start())
	w.Close() // the child holds the write end: EOF comes when it dies

	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var run killRun
	handle := func(line string) {
		if run.errMsg != "" {
			return
		}
		var err error
		switch kind, _, _ := strings.Cut(line, " "); kind {
		case "open":
			_, err = fmt.Sscanf(line, "open %d %d", &run.open.first, &run.open.last)
			run.opened, run.acked = true, run.open
		case "store", "delete":
			if run.inFlight != "" {
				err = fmt.Errorf("%q while %q is not acknowledged", line, run.inFlight)
			}
			run.inFlight = line
		case "ack":
			run.acked, err = run.acked.apply(run.inFlight)
			run.inFlight = ""
		default:
			run.errMsg = line
		}
		if err != nil {
			run.errMsg = err.Error()
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	hang := time.NewTimer(30 * time.Second)
	defer hang.Stop()
	for done := false; !done; {
		select {
		case <-hang.C:
			_ = cmd.Process.Kill()
			run.errMsg = "the child ran for 30 s without being killed: a hang?"
			done = true
		case line, ok := <-lines:
			if !ok {
				done = true // it died by itself: its error is in the reports
				break
			}
			handle(line)
			if strings.HasPrefix(line, "open ") {
				timer.Reset(delay)
			}
		case <-timer.C:
			_ = cmd.Process.Kill() // SIGKILL
			done = true
		}
	}
	for line := range lines {
		handle(line)
	}
	_ = cmd.Wait()
	run.output = output.String()
	return run
}

func TestKillStoreLogs(t *testing.T) {
	if os.Getenv(killDirEnv) != "" {
		t.Skip("in the child")
	}
	t.Parallel()
	iterations := 12
	if testing.Short() {
		iterations = 4
	}
	seed := testseed.Seed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	var state killBounds // what the store held when the last child started
	for it := range iterations {
		delay := time.Duration(r.IntN(300)) * time.Millisecond
		run := runKillChild(t, dir, r.Uint64(), delay)
		require.Empty(t, run.errMsg, "iteration %d: child output:\n%s", it, run.output)
		require.True(t, run.opened, "iteration %d: the child did not open the store:\n%s", it, run.output)
		require.Equal(t, state, run.open, "iteration %d: the child opened another state", it)

		// Every acknowledged call, and the one in flight whole or not at all.
		allowed := []killBounds{run.acked}
		if run.inFlight != "" {
			b, err := run.acked.apply(run.inFlight)
			require.NoError(t, err)
			allowed = append(allowed, b)
		}
		s := openStore(t, dir, killOptions())
		var got killBounds
		var err error
		got.first, err = s.FirstIndex()
		require.NoError(t, err)
		got.last, err = s.LastIndex()
		require.NoError(t, err)
		require.Contains(t, allowed, got, "iteration %d (killed after %v, in flight: %q)", it, delay, run.inFlight)
		for i := got.first; i <= got.last && got.last > 0; i++ {
			requireLog(t, s, testLog(i, 1))
		}
		if got.first > 0 {
			requireMissing(t, s, got.first-1)
		}
		requireMissing(t, s, got.last+1)
		require.NoError(t, s.Close())
		t.Logf("iteration %d: killed %v after open, in flight %q; log %d..%d", it, delay, run.inFlight, got.first, got.last)
		state = got
	}
}
