package childproc

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childModeEnv tells TestChild what to do: "serve", "exit-early", "fail-after" or "hang".
const childModeEnv = "STRATA_CHILDPROC_TEST_CHILD"

// TestChild is the child process of this package's tests; run directly, it skips.
func TestChild(t *testing.T) {
	switch mode := os.Getenv(childModeEnv); mode {
	case "":
		t.Skip("the child process of the childproc tests")
	case "serve":
		fmt.Println("a line before the ready line")
		Serve("held " + mode)
	case "exit-early":
		fmt.Fprintln(os.Stderr, "early-marker on stderr")
		os.Exit(2)
	case "fail-after":
		Serve("held " + mode)
		fmt.Fprintln(os.Stderr, "after-marker on stderr")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour) // until Hold kills it
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}

func TestHold(t *testing.T) {
	ready, release := Hold(t, "TestChild", childModeEnv+"=serve")
	require.Equal(t, "held serve", ready)
	release()
	release() // a second call, and the cleanup's, do nothing
}

// fakeTB records what Hold and release report instead of failing the test that runs them.
type fakeTB struct {
	testing.TB
	failure  string
	cleanups []func()
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn on its own goroutine, as the testing package runs a test, so that a Fatalf
// ends only fn, and returns what was reported.
func (f *fakeTB) run(fn func()) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	return f.failure
}

// TestHoldFailures: each way a child can fail fails the parent's test with what the child
// printed.
func TestHoldFailures(t *testing.T) {
	t.Run("exits before ready", func(t *testing.T) {
		f := &fakeTB{TB: t}
		failure := f.run(func() { Hold(f, "TestChild", childModeEnv+"=exit-early") })
		require.Contains(t, failure, "exited before it was ready (exit: exit status 2)")
		require.Contains(t, failure, "early-marker on stderr")
	})
	t.Run("fails after ready", func(t *testing.T) {
		f := &fakeTB{TB: t}
		var release func()
		require.Empty(t, f.run(func() {
			var ready string
			ready, release = Hold(f, "TestChild", childModeEnv+"=fail-after")
			require.Equal(t, "held fail-after", ready)
		}))
		failure := f.run(release)
		require.Contains(t, failure, "exit status 3")
		require.Contains(t, failure, "after-marker on stderr")
		require.Len(t, f.cleanups, 1)
		f.failure = ""
		require.Empty(t, f.run(f.cleanups[0]), "the cleanup after release does nothing")
	})
	t.Run("never ready", func(t *testing.T) {
		defer func(d time.Duration) { readyTimeout = d }(readyTimeout)
		readyTimeout = 500 * time.Millisecond
		f := &fakeTB{TB: t}
		failure := f.run(func() { Hold(f, "TestChild", childModeEnv+"=hang") })
		require.Contains(t, failure, "was not ready within 500ms; killed it")
	})
}
