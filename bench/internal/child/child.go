// Package child runs one engine's measurement in a process of its own. The parent re-executes
// its own binary with arguments that select the child mode; the child writes one JSON object
// per line on stdout and anything for people on stderr, which passes through to the parent's.
//
// A process per engine keeps engines from sharing a heap, a garbage collector, page-cache
// warmth of their own files or cgo threads, and lets the child read its own /proc/self/io.
//
// The commands that work this way (cmd/compare, cmd/amp) share here their main function
// (Main), the flags they have in common with those of the child mode (Flags), and the run of
// one engine's child in a fresh directory (Flags.RunEngine).
package child

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Run starts this binary with args and calls onLine for every line the child writes on stdout,
// as it comes. It returns the first error of onLine or the child's failure.
func Run(args []string, onLine func(line []byte) error) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var lineErr error
	for sc.Scan() {
		if lineErr == nil {
			lineErr = onLine(sc.Bytes())
		}
	}
	waitErr := cmd.Wait()
	if lineErr != nil {
		return lineErr
	}
	if waitErr != nil {
		return fmt.Errorf("%s: %w", exe, waitErr)
	}
	return sc.Err()
}

// Emit writes v as one JSON line on stdout, for the parent.
func Emit(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}

// Settle asks the kernel to write back all dirty pages (sync(2)), so that one engine's
// writes still in the page cache are not written back while the next engine is measured.
func Settle() { syscall.Sync() }
