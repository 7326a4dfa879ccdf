package db

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

func TestManyWritesFlushAndReopen(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	const n = 20000
	for i := 0; i < n; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("key%06d", i)), []byte(fmt.Sprintf("value%d", i)), nil))
	}
	for i := 0; i < n; i += 997 {
		v, err := d.Get([]byte(fmt.Sprintf("key%06d", i)), nil)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("value%d", i), string(v))
	}
	it := d.NewIterator(nil)
	count := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, fmt.Sprintf("key%06d", count), string(it.Key()))
		count++
	}
	require.NoError(t, it.Close())
	require.Equal(t, n, count)
	t.Log(d.Property("leveldb.stats"))
	require.NoError(t, d.Close())

	d = openMem(t, fs, nil)
	it = d.NewIterator(nil)
	count = 0
	for ok := it.Last(); ok; ok = it.Prev() {
		count++
	}
	require.NoError(t, it.Close())
	require.Equal(t, n, count)
	require.NoError(t, d.Close())
}
