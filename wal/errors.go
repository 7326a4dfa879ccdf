package wal

import (
	"errors"
	"fmt"
)

// ErrTornTail reports that a log ends inside a record: the file holds part of a record that an
// append was writing when the process or machine stopped. The records before it are intact and
// the partial one was never acknowledged as durable, so callers treat it as the end of the log.
// It is deliberately not ErrCorruption. Match it with errors.Is; errors.As with *TornTailError
// gives the offset where the partial record starts.
var ErrTornTail = errors.New("torn record at end of log")

// TornTailError is the error a Reader returns for a torn tail. It matches ErrTornTail.
type TornTailError struct {
	File   string // the name the Reader was given
	Offset int64  // where the partial record starts: the header of its first fragment
	Reason string // what was cut short, in a few words
}

// Error formats the error as "torn record at end of FILE at offset N: REASON".
func (e *TornTailError) Error() string {
	where := e.File
	if where == "" {
		where = "(memory)"
	}
	return fmt.Sprintf("torn record at end of %s at offset %d: %s", where, e.Offset, e.Reason)
}

// Is reports true for ErrTornTail.
func (e *TornTailError) Is(target error) bool { return target == ErrTornTail }
