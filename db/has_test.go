package db

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

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
