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

// Usage is what the kernel reports of a child that ended.
type Usage struct {
	// PeakRSSBytes is the child's peak resident memory (getrusage's ru_maxrss, the VmHWM of
	// /proc/PID/status): its heap, stacks and the pages of files it mapped that it touched.
	PeakRSSBytes int64
}

// Run starts this binary with args and calls onLine for every line the child writes on stdout,
// as it comes. It returns the first error of onLine or the child's failure, and the child's
// usage (zero if it did not start).
func Run(args []string, onLine func(line []byte) error) (u Usage, _ error) {
	exe, err := os.Executable()
	if err != nil {
		return u, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return u, err
	}
	if err := cmd.Start(); err != nil {
		return u, err
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
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.PeakRSSBytes = ru.Maxrss << 10 // kilobytes on Linux
	}
	if lineErr != nil {
		return u, lineErr
	}
	if waitErr != nil {
		return u, fmt.Errorf("%s: %w", exe, waitErr)
	}
	return u, sc.Err()
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
