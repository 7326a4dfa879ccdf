package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/stratadb/strata/internal/buildinfo"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/vfs"
)

// Exit statuses. Never change them: scripts depend on them.
const (
	exitOK      = 0 // all is well
	exitProblem = 1 // the data has problems
	exitUsage   = 2 // usage error, or a file that cannot be read at all
)

func main() {
	// Without this, a write to a closed pipe on stdout kills the process with SIGPIPE; ignored,
	// the write fails with EPIPE and run ends quietly.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// readFS is all of the filesystem sstdump uses: nothing in it can create, write, rename, remove
// or lock a file (invariant 1).
type readFS interface {
	Open(name string) (vfs.File, error)
	Stat(name string) (os.FileInfo, error)
	List(dir string) ([]string, error)
}

// env is what a command runs with.
type env struct {
	out    *output
	stderr io.Writer
	fs     readFS
	prog   *progress // nil unless stderr is a terminal
	status int       // the worst exit status so far
	json   bool      // check and db print JSON objects (--format=json)
}

// raise records an exit status; the worst one wins.
func (e *env) raise(status int) { e.status = max(e.status, status) }

// errorf prints a one-line message to stderr and raises the exit status.
func (e *env) errorf(status int, format string, args ...any) {
	e.prog.clear()
	_ = e.out.flush() // keep stdout and stderr in order on a terminal
	fmt.Fprintf(e.stderr, "sstdump: "+format+"\n", args...)
	e.raise(status)
}

// fileError reports an error about path that ends the work on it: corruption gives status 1,
// anything else (a missing or unreadable file) status 2.
func (e *env) fileError(path string, err error) {
	if isCorruption(err) {
		status := exitProblem
		if isNotTable(err) {
			status = exitUsage // wrong input, not damage
		}
		e.errorf(status, "%s", findingOf(path, err).text())
		return
	}
	e.errorf(exitUsage, "%s: %s", path, ioReason(path, err))
}

// ioReason describes an I/O error without repeating the path the error may already name.
func ioReason(path string, err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) && (pe.Path == path || filepath.Clean(pe.Path) == filepath.Clean(path)) {
		return pe.Err.Error()
	}
	return strings.TrimPrefix(err.Error(), path+": ")
}

func corruptf(file string, off int64, format string, args ...any) error {
	return dberr.Corruptf(file, off, format, args...)
}

// usageError is a command line sstdump cannot follow: exit status 2.
type usageError struct {
	cmd string // the command whose usage to point at, or ""
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// run is sstdump with its arguments (without the program name) and output streams; it returns
// the exit status. It never panics: a panic, which would be a bug, is reported in one line.
func run(args []string, stdout, stderr io.Writer) (status int) {
	e := &env{out: newOutput(stdout), stderr: stderr, fs: vfs.NewOS(), prog: newProgress(stderr)}
	defer func() {
		if r := recover(); r != nil {
			e.prog.clear()
			_ = e.out.flush()
			fmt.Fprintf(stderr, "sstdump: internal error: %v (a bug; please report it with the input)\n", r)
			if os.Getenv("SSTDUMP_TRACEBACK") != "" {
				stderr.Write(debug.Stack())
			}
			status = exitUsage
		}
	}()
	err := dispatch(e, args)
	e.prog.clear()
	if ferr := e.out.flush(); err == nil {
		err = ferr
	}
	switch {
	case err == nil:
	case errors.Is(err, errBrokenPipe) || isBrokenPipe(err):
		// The reader went away: stop quietly with the status found so far.
	case errors.Is(err, flag.ErrHelp):
		// Usage was printed.
	default:
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "sstdump: %s\n", ue.msg)
			if ue.cmd != "" {
				fmt.Fprintf(stderr, "usage: %s (see 'sstdump help %s')\n", commands[ue.cmd].synopsis, ue.cmd)
			} else {
				fmt.Fprintf(stderr, "run 'sstdump help' for usage\n")
			}
			e.raise(exitUsage)
		} else {
			fmt.Fprintf(stderr, "sstdump: %v\n", err)
			e.raise(exitUsage)
		}
	}
	return e.status
}

// dispatch runs the command args name, or guesses one from a path.
func dispatch(e *env, args []string) error {
	if len(args) == 0 {
		printMainUsage(e.stderr)
		e.raise(exitUsage)
		return nil
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		return help(e, args[1:])
	case "version", "-version", "--version":
		if len(args) > 1 {
			return usagef("", "%s takes no arguments", name)
		}
		e.out.str(buildinfo.Line("sstdump") + "\n")
		return nil
	}
	if c, ok := commands[name]; ok {
		return c.run(e, name, args[1:])
	}
	if strings.HasPrefix(name, "-") {
		return usagef("", "unknown flag %s before a command", name)
	}
	if len(args) > 1 {
		return usagef("", "unknown command %q", name)
	}
	return auto(e, name)
}

func help(e *env, args []string) error {
	switch len(args) {
	case 0:
		printMainUsage(e.out.w)
		return nil
	case 1:
		c, ok := commands[args[0]]
		if !ok {
			return usagef("", "no help for unknown command %q", args[0])
		}
		printCommandUsage(e.out.w, args[0], c)
		return nil
	}
	return usagef("", "help takes at most one command")
}
