package dberr

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCorruptionErrorMatchesSentinel(t *testing.T) {
	err := Corruptf("000005.ldb", 4096, "bad block checksum")
	require.ErrorIs(t, err, ErrCorruption)
	require.NotErrorIs(t, err, ErrNotFound)
	require.Equal(t, "strata: corruption in 000005.ldb at offset 4096: bad block checksum", err.Error())

	wrapped := fmt.Errorf("open: %w", err)
	require.ErrorIs(t, wrapped, ErrCorruption)
	var ce *CorruptionError
	require.True(t, errors.As(wrapped, &ce))
	require.Equal(t, int64(4096), ce.Offset)
	require.Equal(t, "000005.ldb", ce.File)
}

func TestCorruptionErrorWithoutOffsetOrFile(t *testing.T) {
	err := &CorruptionError{Offset: NoOffset, Reason: "short", Err: io.ErrUnexpectedEOF}
	require.Equal(t, "strata: corruption in (memory): short: unexpected EOF", err.Error())
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.ErrorIs(t, err, ErrCorruption)
}

func TestInvalidArgf(t *testing.T) {
	err := InvalidArgf("key %q out of order", "b")
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Contains(t, err.Error(), `key "b" out of order`)
}

func TestWrapKeepsOnePrefix(t *testing.T) {
	require.NoError(t, Wrap(nil, "open %s", "/db"))

	inner := Corruptf("/db/000005.ldb", 10, "bad block")
	err := Wrap(inner, "open %s", "/db")
	require.Equal(t, "strata: open /db: corruption in /db/000005.ldb at offset 10: bad block", err.Error())
	require.ErrorIs(t, err, ErrCorruption)
	var ce *CorruptionError
	require.True(t, errors.As(err, &ce))

	os := fmt.Errorf("lock /db/LOCK: %w", io.ErrUnexpectedEOF)
	err = Wrap(Wrap(os, "open %s", "/db"), "repair %s", "/db")
	require.Equal(t, "strata: repair /db: open /db: lock /db/LOCK: unexpected EOF", err.Error())
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	pe := &fs.PathError{Op: "open", Path: "/db/000005.ldb", Err: fs.ErrNotExist}
	err = Wrap(pe, "")
	require.Equal(t, "strata: open /db/000005.ldb: file does not exist", err.Error())
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Equal(t, err.Error(), Wrap(err, "").Error(), "idempotent")
}

func TestMark(t *testing.T) {
	err := Mark(ErrInvalidArgument, "strata: open %s: the path is empty", `""`)
	require.Equal(t, `strata: open "": the path is empty`, err.Error())
	require.ErrorIs(t, err, ErrInvalidArgument)

	both := Mark(errors.Join(ErrInvalidArgument, io.EOF), "strata: no DB")
	require.ErrorIs(t, both, ErrInvalidArgument)
	require.ErrorIs(t, both, io.EOF)
	require.NotErrorIs(t, both, ErrCorruption)
	require.Equal(t, "strata: no DB", both.Error())
}
