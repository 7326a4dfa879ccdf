package dberr

import (
	"errors"
	"fmt"
	"io"
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
