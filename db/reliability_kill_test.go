//go:build unix

package db

// TestKillProcess: crash recovery with real processes and real files. Each iteration starts a
// child process (this test binary again, running TestKillProcessChild) that opens a DB in a
// directory on the real filesystem and writes the reliability workload (reliability_workload_test.go)
// as fast as it can: puts of 0 B to 64 KiB, deletes, batches of up to 100 operations with a
// marker each, one write in ten synced, a 64 KiB write buffer so that logs rotate and flushes and
// compactions run in the background. After each write returns, the child reports it on a pipe
// ("ack <i>", one write(2) of a few bytes, so the report is all there or not at all). The parent
// sends SIGKILL at a random moment (sometimes while the child is still opening, that is, still
// recovering from the previous kill), reads every report, reopens the directory itself and
// requires exactly the state before the child plus a prefix of its writes: every acknowledged
// write, synced or not (the kernel had them), in order, plus at most the one in flight; batches
// whole or absent (checked again through their markers). The next iteration's child starts from
// that state; every tenth iteration starts a fresh directory. In every other iteration the
// child commits its batches as transactions (each reads its first key, then buffers the batch
// and commits it), so a kill during a burst of commits must leave each transaction whole or
// absent too.
//
// 100 iterations by default (20 with -short); -kill-iterations=N or $STRATA_KILL_ITERATIONS=N
// runs N (the full run is 10,000). -seed / $STRATA_SEED replays.

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/workload"
)

var killIterationsFlag = flag.Int("kill-iterations", 0, "iterations of TestKillProcess (default 100, 20 with -short; or $STRATA_KILL_ITERATIONS)")

// Environment of the child process.
const (
	killChildDirEnv  = "STRATA_KILL_CHILD_DIR"
	killChildSeedEnv = "STRATA_KILL_CHILD_SEED"
	killChildTxnEnv  = "STRATA_KILL_CHILD_TXN" // "1": batches are committed as transactions
)

// killChildLimit ends a child that nobody killed (its parent died): it stops writing after this
// long, or as soon as a report to its parent fails.
const killChildLimit = 2 * time.Minute

// TestKillProcessChild is the child of TestKillProcess; run directly, it skips.
func TestKillProcessChild(t *testing.T) {
	dir := os.Getenv(killChildDirEnv)
	if dir == "" {
		t.Skip("the child process of TestKillProcess; runs only when that test starts it")
	}
	seed, err := strconv.ParseUint(os.Getenv(killChildSeedEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	out := os.NewFile(3, "reports") // the pipe to the parent, passed as ExtraFiles[0]
	report := func(format string, args ...any) {
		if _, err := fmt.Fprintf(out, format+"\n", args...); err != nil {
			os.Exit(3) // the parent is gone
		}
	}
	d, err := Open(dir, relOpts())
	if err != nil {
		report("error open: %v", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(2)
	}
	report("open")
	g := relGen(seed, killTag(seed))
	apply := applyOp
	if os.Getenv(killChildTxnEnv) == "1" {
		apply = applyOpTxn
	}
	start := time.Now()
	for i := 0; time.Since(start) < killChildLimit; i++ {
		if err := apply(d, g.Next()); err != nil {
			report("error write %d: %v", i, strings.ReplaceAll(err.Error(), "\n", " "))
			os.Exit(2)
		}
		report("ack %d", i) // after the write returned: only acknowledged writes are reported
	}
	os.Exit(4)
}

func killTag(seed uint64) string { return "s" + strconv.FormatUint(seed, 36) }

// killIterations returns how many iterations TestKillProcess runs.
func killIterations(t *testing.T) int {
	if *killIterationsFlag > 0 {
		return *killIterationsFlag
	}
	if s := os.Getenv("STRATA_KILL_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "STRATA_KILL_ITERATIONS")
		return n
	}
	if testing.Short() {
		return 20
	}
	return 100
}

// killResult is what the parent learned from one child.
type killResult struct {
	opened bool   // the child reported that Open returned
	acked  int    // writes acknowledged: reports "ack 0" .. "ack acked-1"
	errMsg string // the child reported an error
	output string // the child's stdout and stderr
}

// runKillChild starts a child writing into dir with seed, kills it after delay (counted from
// its start when fromStart, else from its report that Open returned), and returns its reports.
func runKillChild(t *testing.T, dir string, seed uint64, delay time.Duration, fromStart, txn bool) killResult {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillProcessChild$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), killChildDirEnv+"="+dir, killChildSeedEnv+"="+strconv.FormatUint(seed, 10))
	if txn {
		cmd.Env = append(cmd.Env, killChildTxnEnv+"=1")
	}
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.ExtraFiles = []*os.File{w}
	require.NoError(t, cmd.Start())
	w.Close() // the child holds the write end now; EOF comes when it dies

	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var res killResult
	handle := func(line string) {
		switch {
		case line == "open":
			res.opened = true
		case strings.HasPrefix(line, "ack "):
			i, err := strconv.Atoi(line[4:])
			if err != nil || i != res.acked {
				res.errMsg = fmt.Sprintf("bad report %q after %d acknowledgements", line, res.acked)
				return
			}
			res.acked++
		default:
			res.errMsg = line
		}
	}
	timer := time.NewTimer(delay)
	if !fromStart {
		timer.Stop()
	}
	hang := time.NewTimer(time.Minute) // a child that never reports Open, or never dies
	defer hang.Stop()
	killed := false
	for !killed {
		select {
		case <-hang.C:
			_ = cmd.Process.Kill()
			killed = true
			res.errMsg = "no report from the child for a minute: a hang in Open?"
		case line, ok := <-lines:
			if !ok {
				killed = true // the child died on its own: an error, reported below
				break
			}
			handle(line)
			if line == "open" && !fromStart {
				timer.Reset(delay)
			}
		case <-timer.C:
			_ = cmd.Process.Kill() // SIGKILL
			killed = true
		}
	}
	for line := range lines {
		handle(line)
	}
	_ = cmd.Wait()
	res.output = output.String()
	return res
}

func TestKillProcess(t *testing.T) {
	t.Parallel() // long; it shares nothing with the other tests
	if os.Getenv(killChildDirEnv) != "" {
		t.Skip("inside the child")
	}
	iterations := killIterations(t)
	seed := testSeed(t)
	rng := newRand(seed)
	root := t.TempDir()

	var (
		dir                                string
		base                               kv
		acked, synced, batches, inFlightIn int
		killedOpening, atPrefix            int
		flushes, compactions, maxTables    int
		chain                              int
	)
	start := time.Now()
	for it := 0; it < iterations; it++ {
		if it%10 == 0 {
			if dir != "" {
				require.NoError(t, os.RemoveAll(dir))
			}
			chain++
			dir = filepath.Join(root, fmt.Sprintf("db%d", chain))
			base = kv{}
		}
		childSeed := seed + uint64(it)*0x9e3779b97f4a7c15
		// Mostly short runs (a kill within 80 ms of the child's Open), some longer ones so that
		// compactions run, and some kills counted from the child's start, which can land in its
		// Open: in the recovery from the previous kill.
		var delay time.Duration
		fromStart := false
		switch x := rng.IntN(20); {
		case x < 3:
			fromStart = true
			delay = time.Duration(rng.Int64N(int64(60 * time.Millisecond)))
		case x < 18:
			delay = time.Duration(rng.Int64N(int64(80 * time.Millisecond)))
		default:
			delay = time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
		}
		what := fmt.Sprintf("iteration %d (child seed %d, kill %v after %s)", it, childSeed, delay,
			map[bool]string{true: "its start", false: "its Open"}[fromStart])
		txn := it%2 == 1
		what += map[bool]string{true: ", batches as transactions"}[txn]
		res := runKillChild(t, dir, childSeed, delay, fromStart, txn)
		if res.errMsg != "" {
			t.Fatalf("%s: the child failed: %s\n%s", what, res.errMsg, res.output)
		}
		if !res.opened {
			killedOpening++
		}

		d, err := Open(dir, relOpts())
		require.NoError(t, err, "%s: reopen after the kill", what)
		got := dump(t, d, &ReadOptions{VerifyChecksums: true})
		g := relGen(childSeed, killTag(childSeed))
		ops := g.Take(res.acked + 1)
		hi := res.acked
		if res.opened {
			hi++ // the write in flight may be there
		}
		p := workload.MatchPrefix(base, ops, got, res.acked, hi)
		if p < 0 {
			requireSame(t, workload.Replay(base, ops[:res.acked]), got,
				"%s: the reopened DB does not hold the state before the child plus its %d acknowledged writes (and maybe one more)", what, res.acked)
		}
		_, err = g.CheckMarkers(ops[:hi], got, p)
		require.NoError(t, err, what)
		// Point reads agree with the scan.
		for i := 0; i < relKeys; i += 37 {
			k := fmt.Sprintf("k%04d", i)
			v, err := d.Get([]byte(k), &ReadOptions{VerifyChecksums: true})
			if want, ok := got[k]; ok {
				require.NoError(t, err, "%s: Get(%s)", what, k)
				require.Equal(t, want, string(v), "%s: Get(%s)", what, k)
			} else {
				require.ErrorIs(t, err, ErrNotFound, "%s: Get(%s)", what, k)
			}
		}
		tables := 0
		for level := range 7 {
			tables += numFiles(t, d, level)
		}
		maxTables = max(maxTables, tables)
		require.NoError(t, d.Close())

		// The child's LOG is LOG.old now: count its flushes and compactions.
		if b, err := os.ReadFile(filepath.Join(dir, filenames.OldInfoLogName)); err == nil && res.opened {
			flushes += strings.Count(string(b), "flushed table")
			compactions += strings.Count(string(b), "compacting ")
		}
		for _, op := range ops[:res.acked] {
			if op.Sync {
				synced++
			}
			if op.Kind == workload.Batch {
				batches++
			}
		}
		acked += res.acked
		if p > res.acked {
			inFlightIn++
		} else {
			atPrefix++
		}
		base = got
	}
	t.Logf("%d kills in %v: %d acknowledged writes (%d synced, %d batches), all recovered; "+
		"%d kills before the child's Open returned (in its start-up or its recovery); the write in flight recovered %d times, not %d times; "+
		"%d flushes and %d compactions in the children (counted in their LOGs); up to %d tables",
		iterations, time.Since(start).Round(time.Millisecond), acked, synced, batches, killedOpening,
		inFlightIn, atPrefix, flushes, compactions, maxTables)
}
