package db

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// TestCompactionKeepsData writes random keys through many flushes and compactions, overwriting
// and deleting some, and checks every key against a model, before and after reopening.
func TestCompactionKeepsData(t *testing.T) {
	fs := vfs.NewMem()
	opts := &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20}
	d := openMem(t, fs, opts)
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	const n = 60000
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key%07d", rng.IntN(n/2))
		if rng.IntN(10) == 0 {
			require.NoError(t, d.Delete([]byte(k), nil))
			delete(model, k)
			continue
		}
		v := fmt.Sprintf("value-%d-%s", i, string(make([]byte, rng.IntN(100))))
		require.NoError(t, d.Put([]byte(k), []byte(v), nil))
		model[k] = v
	}
	check := func(d *DB) {
		for i := 0; i < n/2; i++ {
			k := fmt.Sprintf("key%07d", i)
			v, err := d.Get([]byte(k), nil)
			if want, ok := model[k]; ok {
				require.NoError(t, err, k)
				require.Equal(t, want, string(v), k)
			} else {
				require.ErrorIs(t, err, ErrNotFound, k)
			}
		}
		it := d.NewIterator(nil)
		count := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, model[string(it.Key())], string(it.Value()))
			count++
		}
		require.NoError(t, it.Close())
		require.Equal(t, len(model), count)
	}
	check(d)
	stats, _ := d.Property("leveldb.stats")
	t.Log(stats)
	sst, _ := d.Property("leveldb.sstables")
	t.Log(sst)
	require.NoError(t, d.Close())
	d = openMem(t, fs, opts)
	check(d)
	require.NoError(t, d.CompactRange(nil, nil))
	check(d)
	sst, _ = d.Property("leveldb.sstables")
	t.Log("after CompactRange:\n" + sst)
	require.NoError(t, d.Close())
}
