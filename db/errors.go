package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/vfs"
)

// Errors returned by the DB. Match them with errors.Is: the DB wraps them with the file, offset
// or operation they concern.
var (
	// ErrNotFound is returned by Get for a key that is absent.
	ErrNotFound = dberr.ErrNotFound
	// ErrClosed is returned by every call on a closed DB, and by iterators and snapshots of it.
	ErrClosed = dberr.ErrClosed
	// ErrCorruption reports damaged data: a failed checksum, an impossible length, a missing
	// file the MANIFEST names.
	ErrCorruption = dberr.ErrCorruption
	// ErrInvalidArgument reports a call that breaks the contract, or an Open whose options do not
	// fit the directory (a different comparator, ErrorIfExists on an existing DB, ...).
	ErrInvalidArgument = dberr.ErrInvalidArgument
	// ErrLocked is returned by Open when another process, or another DB in this process, holds
	// the directory.
	ErrLocked = vfs.ErrLocked
	// ErrReadOnly is returned by writes, CompactRange and other calls that would change a DB
	// opened with Options.ReadOnly.
	ErrReadOnly = dberr.ErrReadOnly
	// ErrConflict is returned by Transaction.Commit when something the transaction read was
	// written by someone else after it began: nothing was written; run the transaction again.
	ErrConflict = errors.New("strata: transaction conflict")
	// ErrTxnTooBig is returned by Transaction.Put and Delete when the transaction's writes would
	// pass Options.MaxTransactionBytes.
	ErrTxnTooBig = errors.New("strata: transaction too big")
)

// errReadOnly is the error of op on a DB opened read-only.
func errReadOnly(op string) error {
	return fmt.Errorf("%w: %s refused", ErrReadOnly, op)
}

// ctxError is the error of op stopped because ctx is done: it wraps ctx.Err().
func ctxError(ctx context.Context, op string) error {
	return fmt.Errorf("strata: %s: %w", op, ctx.Err())
}
