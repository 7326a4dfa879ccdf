// Package childproc runs the test binary again as a child process that holds something the
// parent's tests need held by another process (an fcntl lock, an open DB: fcntl locks belong
// to a process, so a second holder in the same process proves nothing), until the parent
// releases it.
//
// The contract between the two sides:
//
//  1. The child is a top-level Test function of the same test binary. It learns what to do
//     from the environment the parent passes, and skips when that is absent, so that an
//     ordinary run of the package skips it.
//  2. The child takes what it holds, calls Serve, which prints one ready line on stdout and
//     blocks until stdin closes, then releases what it holds and returns.
//  3. Hold, in the parent, starts the child with Command and returns once the child's ready
//     line arrives, with the text the child gave Serve. A child that exits, or does not become
//     ready within a minute, fails the parent's test with all the child printed.
//  4. release, returned by Hold and registered with t.Cleanup, closes the child's stdin and
//     waits for the child to exit; a non-zero exit fails the parent's test with all the child
//     printed. Calling it again does nothing.
//
// Hold and release must be called from the test's goroutine. The child's stderr is read only
// after the child has exited and exec has finished copying it, and its stdout only by one
// goroutine, so the package is safe under the race detector.
//
// The package imports nothing of Strata's, so that any package's internal tests can use it.
package childproc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// readyPrefix starts the line Serve prints; Hold looks for it among the child's other output
// (the test framework's own lines, anything the child prints first).
const readyPrefix = "childproc ready: "

// readyTimeout is how long Hold waits for the child's ready line (a variable for this
// package's tests).
var readyTimeout = 60 * time.Second

// Command returns the command that runs the test binary again, running only the top-level test
// named run, with env ("NAME=value") added to this process's environment.
func Command(run string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// Serve is the child's side: it prints the ready line carrying ready (one line of text, which
// Hold returns) and blocks until stdin closes, that is until the parent releases the child.
func Serve(ready string) {
	if strings.Contains(ready, "\n") {
		panic("childproc: the ready text must be one line")
	}
	fmt.Println(readyPrefix + ready)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// Hold starts the child (Command(run, env...)), waits for its ready line, and returns the text
// the child passed to Serve and the function that releases the child (see the package doc).
func Hold(t testing.TB, run string, env ...string) (ready string, release func()) {
	t.Helper()
	cmd := Command(run, env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("childproc: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("childproc: %v", err)
	}
	var stderr bytes.Buffer // exec copies into it until Wait returns: read it only after
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("childproc: starting %s: %v", run, err)
	}

	// One goroutine reads stdout to its end: it sends the ready text on readyc (or closes
	// readyc at end of file without one), and closes out once it has all the output.
	readyc := make(chan string, 1)
	out := make(chan struct{})
	var printed strings.Builder // written by the goroutine until it closes out
	go func() {
		defer close(out)
		sent := false
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			printed.WriteString(line + "\n")
			if text, ok := strings.CutPrefix(line, readyPrefix); ok && !sent {
				readyc <- text
				sent = true
			}
		}
		if !sent {
			close(readyc)
		}
		// Keep reading past an over-long line, so that the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	// finish waits for the child to exit and returns its exit error and all it printed.
	finish := func() (output string, err error) {
		<-out
		err = cmd.Wait()
		return fmt.Sprintf("--- child stdout:\n%s--- child stderr:\n%s", printed.String(), stderr.String()), err
	}

	done := false
	release = func() {
		t.Helper()
		if done {
			return
		}
		done = true
		stdin.Close()
		if output, err := finish(); err != nil {
			t.Fatalf("childproc: the child %s failed: %v\n%s", run, err, output)
		}
	}
	t.Cleanup(release)

	select {
	case text, ok := <-readyc:
		if ok {
			return text, release
		}
		done = true
		output, err := finish()
		t.Fatalf("childproc: the child %s exited before it was ready (exit: %v)\n%s", run, err, output)
	case <-time.After(readyTimeout):
		done = true
		_ = cmd.Process.Kill()
		stdin.Close()
		output, _ := finish()
		t.Fatalf("childproc: the child %s was not ready within %v; killed it\n%s", run, readyTimeout, output)
	}
	return "", release
}
