package db

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// TestHas: Has agrees with Get for keys in the memtable and in tables, deleted keys, absent keys
// and snapshots, and fails as Get does on a closed DB or a released snapshot.
func TestHas(t *testing.T) {
	d := boundsDB(t) // b, d, f, h present (memtable and tables); e deleted
	snap := d.NewSnapshot()
	require.NoError(t, d.Put([]byte("a"), nil, nil)) // an empty value is still a value
	require.NoError(t, d.Delete([]byte("b"), nil))
	for _, tc := range []struct {
		ro   *ReadOptions
		want string // the keys Has must report, among a..i
	}{
		{nil, "adfh"},
		{&ReadOptions{Snapshot: snap}, "bdfh"},
		{&ReadOptions{VerifyChecksums: true, DontFillCache: true}, "adfh"},
	} {
		var got []byte
		for k := byte('a'); k <= 'i'; k++ {
			has, err := d.Has([]byte{k}, tc.ro)
			require.NoError(t, err)
			_, gerr := d.Get([]byte{k}, tc.ro)
			require.Equal(t, gerr == nil, has, "Has and Get disagree on %c", k)
			if has {
				got = append(got, k)
			}
		}
		require.Equal(t, tc.want, string(got))
	}

	snap.Release()
	_, err := d.Has([]byte("d"), &ReadOptions{Snapshot: snap})
	require.ErrorIs(t, err, ErrInvalidArgument, "released snapshot")
	require.NoError(t, d.Close())
	has, err := d.Has([]byte("d"), nil)
	require.ErrorIs(t, err, ErrClosed)
	require.False(t, has)
}

// TestHasDoesNotCopyTheValue: Has allocates far less than the value it finds, in the memtable
// (a 1 MiB value) or in a table (a 64 KiB value, in one block the block cache keeps), while Get
// copies the value every time.
func TestHasDoesNotCopyTheValue(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 8 << 20, Compression: NoCompression})
	defer d.Close()
	const tableValue, memValue = 64 << 10, 1 << 20
	require.NoError(t, d.Put([]byte("table"), bytes.Repeat([]byte("t"), tableValue), nil))
	require.NoError(t, d.CompactRange(nil, nil))
	require.NoError(t, d.Put([]byte("mem"), bytes.Repeat([]byte("m"), memValue), nil))

	const n = 20
	allocated := func(f func()) uint64 {
		f() // the table's block enters the cache
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			f()
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, tc := range []struct {
		key  string
		size uint64
	}{{"mem", memValue}, {"table", tableValue}} {
		t.Run(tc.key, func(t *testing.T) {
			has := allocated(func() {
				ok, err := d.Has([]byte(tc.key), nil)
				if err != nil || !ok {
					panic(fmt.Sprint("Has: ", ok, err))
				}
			})
			get := allocated(func() {
				if _, err := d.Get([]byte(tc.key), nil); err != nil {
					panic(err)
				}
			})
			require.GreaterOrEqual(t, get, n*tc.size, "Get copies the value each time")
			require.Less(t, has, tc.size, "Has allocated %d bytes for %d lookups of a %d-byte value", has, n, tc.size)
		})
	}
}
