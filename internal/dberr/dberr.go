// Package dberr defines the error sentinels that every layer of Strata wraps, and the error type
// that reports damaged data.
//
// Invariant: callers match errors with errors.Is against the four sentinels below, never with a
// type switch or by comparing messages. A *CorruptionError always names the file it is about and,
// where one is known, the byte offset of the damage, and it matches ErrCorruption.
//
// Messages: an error a program gets from Strata reads "strata: " once, then what happened to
// which file ("strata: open /data/db: lock /data/db/LOCK: held by another process"). The
// sentinels and CorruptionError start with that prefix; the internal packages write theirs
// without any (no "vfs: " or "compaction: "), with the sentinel first when they wrap one
// (InvalidArgf's "strata: invalid argument: ..."), and Wrap adds context without a second prefix.
//
// Package db re-exports these sentinels under the same names, so a program that imports only db
// sees the same values that the internal packages return.
package dberr

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound reports that a key is absent.
	ErrNotFound = errors.New("strata: not found")
	// ErrClosed reports a call on a DB, iterator or file that has been closed.
	ErrClosed = errors.New("strata: closed")
	// ErrCorruption reports data on disk that fails a checksum, a length check or a format rule.
	ErrCorruption = errors.New("strata: corruption")
	// ErrInvalidArgument reports a call whose arguments break the contract (keys out of order, a
	// comparator that does not match the one the data was written with, and so on).
	ErrInvalidArgument = errors.New("strata: invalid argument")
	// ErrReadOnly reports a call that would change a DB opened read-only.
	ErrReadOnly = errors.New("strata: the DB is open read-only")
)

// NoOffset marks a CorruptionError whose damage is not tied to one byte offset.
const NoOffset int64 = -1

// CorruptionError describes damaged data: which file, where in it, and what was wrong.
type CorruptionError struct {
	File   string // the file's path or name as the caller knows it; may be empty for in-memory data
	Offset int64  // byte offset of the damaged record or block, or NoOffset
	Reason string // what was wrong, in a few words
	Err    error  // an underlying cause, if any
}

// Error formats the error as "strata: corruption in FILE at offset N: REASON".
func (e *CorruptionError) Error() string {
	where := e.File
	if where == "" {
		where = "(memory)"
	}
	msg := "strata: corruption in " + where
	if e.Offset != NoOffset {
		msg += fmt.Sprintf(" at offset %d", e.Offset)
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports true for ErrCorruption, so errors.Is(err, ErrCorruption) matches.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorruption }

// Unwrap returns the underlying cause, if any.
func (e *CorruptionError) Unwrap() error { return e.Err }

// Corruptf returns a *CorruptionError for file at offset with a formatted reason.
func Corruptf(file string, offset int64, format string, args ...any) error {
	return &CorruptionError{File: file, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// InvalidArgf returns an error that wraps ErrInvalidArgument with a formatted message.
func InvalidArgf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// Prefix starts every message Strata returns to a program.
const Prefix = "strata: "

// Wrap returns err with context: its message is "strata: CONTEXT: MESSAGE", where MESSAGE is
// err's message with its own "strata: " prefix removed, so that an error passed up through
// several layers keeps one prefix. An empty format adds the prefix alone, for an error that
// already says what happened to which file (an *os.PathError). errors.Is and errors.As see
// err. Wrap(nil, ...) is nil.
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), Prefix)
	if format != "" {
		msg = fmt.Sprintf(format, args...) + ": " + msg
	}
	return &wrapped{msg: Prefix + msg, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// Mark returns an error with the formatted message that errors.Is matches against target (and
// whatever target matches: errors.Join(a, b) marks it as both). Use it to report a sentinel's
// condition in words of its own, where wrapping would repeat the sentinel's message.
func Mark(target error, format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), err: target}
}
