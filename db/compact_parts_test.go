package db

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// TestCompactionInParts runs enough random puts, overwrites and deletes for compactions large
// enough to be split into subcompactions, with a snapshot held across them, and checks the DB
// and the snapshot against the model, before and after a reopen. With -tags invariants every
// Version the parts install is checked too (levels sorted and disjoint).
func TestCompactionInParts(t *testing.T) {
	rng := newRand(testSeed(t))
	fs := vfs.NewMem()
	o := &Options{WriteBufferSize: 256 << 10, MaxFileSize: 1 << 20, BlockCacheSize: 1 << 20}
	d := openMem(t, fs, o)
	model := kv{}
	var snap *Snapshot
	var snapModel kv
	const n = 200000
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key%06d", rng.IntN(100000))
		if rng.IntN(10) == 0 {
			require.NoError(t, d.Delete([]byte(k), nil))
			delete(model, k)
		} else {
			v := fmt.Sprintf("%d-%0*d", i, 100+rng.IntN(200), 0)
			require.NoError(t, d.Put([]byte(k), []byte(v), nil))
			model[k] = v
		}
		if i == n/3 {
			snap = d.NewSnapshot()
			snapModel = dump(t, d, &ReadOptions{Snapshot: snap})
		}
	}
	requireSame(t, model, dump(t, d, nil), "after the writes")
	requireSame(t, snapModel, dump(t, d, &ReadOptions{Snapshot: snap}), "the snapshot")
	snap.Release()
	d.mu.Lock()
	split := d.mu.stats.split
	d.mu.Unlock()
	require.Positive(t, split, "no compaction was split into parts")
	require.NoError(t, d.Close())
	d = openMem(t, fs, o)
	requireSame(t, model, dump(t, d, nil), "reopened")
	require.NoError(t, d.Close())
	t.Logf("%d compactions ran in parts", split)
}
