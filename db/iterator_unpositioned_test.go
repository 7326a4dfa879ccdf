package db

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// TestIteratorKeyValueWhenNotValid: Key and Value return nil, and do not panic, whenever the
// iterator is not on a key.
func TestIteratorKeyValueWhenNotValid(t *testing.T) {
	requireOff := func(t *testing.T, it *Iterator, when string) {
		t.Helper()
		require.False(t, it.Valid(), when)
		require.Nil(t, it.Key(), when)
		require.Nil(t, it.Value(), when)
	}
	d := boundsDB(t)
	defer d.Close()

	it := d.NewIterator(nil)
	requireOff(t, it, "unpositioned")
	require.True(t, it.Last())
	require.Equal(t, "h", string(it.Key()))
	require.False(t, it.Next())
	requireOff(t, it, "past the last key")
	require.True(t, it.First())
	require.False(t, it.Prev())
	requireOff(t, it, "before the first key")
	require.False(t, it.Seek([]byte("z")))
	requireOff(t, it, "after a Seek past the end")
	require.True(t, it.First())
	require.NoError(t, it.Close())
	requireOff(t, it, "closed")

	empty := d.NewIterator(&ReadOptions{LowerBound: []byte("x")})
	require.False(t, empty.First())
	requireOff(t, empty, "empty range")
	require.NoError(t, empty.Close())

	snap := d.NewSnapshot()
	snap.Release()
	bad := d.NewIterator(&ReadOptions{Snapshot: snap})
	require.ErrorIs(t, bad.Error(), ErrInvalidArgument)
	requireOff(t, bad, "made with a released snapshot")
	require.False(t, bad.First())
	requireOff(t, bad, "First after an error")
	require.True(t, errors.Is(bad.Close(), ErrInvalidArgument))

	d2, err := openMemErr(vfs.NewMem(), nil)
	require.NoError(t, err)
	open := d2.NewIterator(nil)
	require.NoError(t, d2.Close())
	closed := d2.NewIterator(nil)
	requireOff(t, closed, "made on a closed DB")
	require.False(t, open.First())
	requireOff(t, open, "its DB closed")
	require.ErrorIs(t, open.Error(), ErrClosed)
	open.Close()
	closed.Close()
}
