package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// failingWriter accepts n bytes, then fails every write with err, as stdout does once the
// reader of a pipe has gone (EPIPE) or a disk fills up (ENOSPC).
type failingWriter struct {
	n   int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	n := w.n
	w.n = 0
	return n, w.err
}

// bigOutputs are commands that print far more than the output buffer.
func bigOutputs(t *testing.T) [][]string {
	dir := strataDir(t)
	return [][]string{
		{"scan", tablesDir + "/snappy-bloom-many.ldb"},
		{"scan", "--format=json", tablesDir + "/internal-keys.ldb"},
		{"log", walDir + "/000003.log"},
		{"manifest", filepath.Join(dir, "MANIFEST-000002")},
		{"check", tablesDir, dir},
		{"db", "--check", dir},
		{"props", tablesDir + "/bigkeys.ldb"},
		{tablesDir + "/snappy-bloom-many.ldb"},
	}
}

// TestBrokenPipeInProcess: when stdout fails with EPIPE the command stops quietly: no message,
// and the exit status of what it found so far (0 here: the data is fine, or the broken tables
// have not been reached).
func TestBrokenPipeInProcess(t *testing.T) {
	for _, args := range bigOutputs(t) {
		for _, n := range []int{0, 100, 70000} {
			var errb bytes.Buffer
			code := run(args, &failingWriter{n: n, err: syscall.EPIPE}, &errb)
			if errb.Len() != 0 {
				t.Errorf("sstdump %s (pipe closed after %d bytes): stderr %q", strings.Join(args, " "), n, errb.String())
			}
			if code != 0 {
				t.Errorf("sstdump %s (pipe closed after %d bytes): exit %d, want 0", strings.Join(args, " "), n, code)
			}
		}
	}
}

// TestWriteError: any other failure to write the output is reported once, with status 2.
func TestWriteError(t *testing.T) {
	var errb bytes.Buffer
	code := run([]string{"scan", tablesDir + "/snappy-bloom-many.ldb"}, &failingWriter{n: 1000, err: syscall.ENOSPC}, &errb)
	if code != 2 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "writing output") {
		t.Errorf("exit %d, stderr %q; want 2 and one line about writing the output", code, errb.String())
	}
}

// TestBrokenPipeBinary runs the built program with stdout a pipe that the reader closes after a
// few bytes, as `sstdump scan t.ldb | head -1` does: it must exit 0 with nothing on stderr (not
// die of SIGPIPE, not print "broken pipe").
func TestBrokenPipeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	bin := filepath.Join(t.TempDir(), "sstdump")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range bigOutputs(t) {
		cmd := exec.Command(bin, args...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		buf := make([]byte, 10)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("sstdump %s: reading the first bytes: %v", strings.Join(args, " "), err)
		}
		r.Close() // like head: stop reading
		err = cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			t.Errorf("sstdump %s with a closed pipe: %v (stderr %q)", strings.Join(args, " "), err, errb.String())
		case err != nil:
			t.Fatal(err)
		case errb.Len() != 0:
			t.Errorf("sstdump %s with a closed pipe: stderr %q", strings.Join(args, " "), errb.String())
		}
	}
}
