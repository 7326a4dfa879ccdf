// Package dberr defines the error sentinels that every layer of Strata wraps, and the error type
// that reports damaged data.
//
// Invariant: callers match errors with errors.Is against the four sentinels below, never with a
// type switch or by comparing messages. A *CorruptionError always names the file it is about and,
// where one is known, the byte offset of the damage, and it matches ErrCorruption.
//
// Package db re-exports these sentinels under the same names, so a program that imports only db
// sees the same values that the internal packages return.
package dberr

import (
	"errors"
	"fmt"
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
