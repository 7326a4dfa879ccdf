package db

import (
	"fmt"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// checkView compares Gets (of every key in either map) and a full scan through ro with want.
func checkView(t *testing.T, d *DB, ro *ReadOptions, want kv, keys []string, what string) {
	t.Helper()
	for _, k := range keys {
		v, err := d.Get([]byte(k), ro)
		if w, ok := want[k]; ok {
			require.NoError(t, err, "%s: Get(%q)", what, k)
			require.Equal(t, w, string(v), "%s: Get(%q)", what, k)
		} else {
			require.ErrorIs(t, err, ErrNotFound, "%s: Get(%q)", what, k)
		}
	}
	requireSame(t, want, dump(t, d, ro), "%s", what)
}

// TestSnapshotRepeatableReads takes snapshots between overwrites and deletes, then flushes and
// compacts everything: each snapshot keeps reading exactly its state, until released.
func TestSnapshotRepeatableReads(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("key%03d", i))
	}
	m := kv{}
	var snaps []*Snapshot
	var views []kv
	for round := range 5 {
		for i, k := range keys {
			switch (i + round) % 4 {
			case 0:
				require.NoError(t, d.Delete([]byte(k), nil))
				delete(m, k)
			default:
				v := fmt.Sprintf("round %d %s %0100d", round, k, i)
				require.NoError(t, d.Put([]byte(k), []byte(v), nil))
				m[k] = v
			}
		}
		snaps = append(snaps, d.NewSnapshot())
		views = append(views, maps.Clone(m))
	}
	check := func(what string) {
		for i, s := range snaps {
			if s != nil {
				checkView(t, d, &ReadOptions{Snapshot: s}, views[i], keys, fmt.Sprintf("%s, snapshot %d", what, i))
			}
		}
		checkView(t, d, nil, m, keys, what+", latest")
	}
	check("memtables and flushed tables")
	require.NoError(t, d.CompactRange(nil, nil))
	check("compacted")
	snaps[1].Release()
	snaps[3].Release()
	snaps[1], snaps[3] = nil, nil
	require.NoError(t, d.CompactRange(nil, nil))
	check("compacted after releasing two snapshots")
	for _, s := range snaps {
		s.Release()
	}
}

// TestSnapshotPerWrite takes a snapshot after each of many overwrites of one key; compaction keeps
// every version a live snapshot needs.
func TestSnapshotPerWrite(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	const n = 400
	snaps := make([]*Snapshot, n)
	for i := range n {
		require.NoError(t, d.Put([]byte("k"), fmt.Appendf(nil, "%d%0500d", i, 0), nil))
		require.NoError(t, d.Put(fmt.Appendf(nil, "filler%d", i), make([]byte, 200), nil))
		snaps[i] = d.NewSnapshot()
	}
	require.NoError(t, d.Delete([]byte("k"), nil))
	for i := 0; i < n; i += 2 {
		snaps[i].Release()
	}
	require.NoError(t, d.CompactRange(nil, nil))
	for i := 1; i < n; i += 2 {
		v, err := d.Get([]byte("k"), &ReadOptions{Snapshot: snaps[i]})
		require.NoError(t, err, "snapshot %d", i)
		require.Equal(t, fmt.Sprintf("%d%0500d", i, 0), string(v), "snapshot %d", i)
		snaps[i].Release()
	}
	_, err := d.Get([]byte("k"), nil)
	require.ErrorIs(t, err, ErrNotFound)
}

// TestSnapshotKeepsSpaceUntilReleased deletes everything under a snapshot: compaction must keep
// the data while the snapshot lives and drop it once released.
func TestSnapshotKeepsSpaceUntilReleased(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, Compression: NoCompression})
	defer d.Close()
	rng := newRand(7)
	want := kv{}
	for i := range 1000 {
		k, v := fmt.Sprintf("k%04d", i), randValue(rng, 1000)
		require.NoError(t, d.Put([]byte(k), v, nil))
		want[k] = string(v)
	}
	s := d.NewSnapshot()
	for i := range 1000 {
		require.NoError(t, d.Delete(fmt.Appendf(nil, "k%04d", i), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	all := []Range{{Start: []byte("k"), Limit: []byte("l")}}
	size, err := d.ApproximateSizes(all)
	require.NoError(t, err)
	require.Greater(t, size[0], uint64(800_000), "the snapshot's data is kept")
	requireSame(t, want, dump(t, d, &ReadOptions{Snapshot: s}), "through the snapshot")
	require.Empty(t, dump(t, d, nil))

	s.Release()
	require.NoError(t, d.Put([]byte("k0000"), []byte("new"), nil))
	require.NoError(t, d.Put([]byte("k0999"), []byte("new"), nil))
	require.NoError(t, d.CompactRange(nil, nil))
	size, err = d.ApproximateSizes(all)
	require.NoError(t, err)
	require.Less(t, size[0], uint64(10_000), "deleted data dropped once no snapshot needs it")
	require.Equal(t, kv{"k0000": "new", "k0999": "new"}, dump(t, d, nil))
}

// TestCompactRangeRewritesBottomLevel checks CompactRange's promise that afterwards "overwritten
// and deleted data in the range takes no space": here all of it is in one table at the deepest
// level holding the range, which no compaction from above touches (leveldb's CompactRange leaves
// it there); Strata rewrites that level in place.
func TestCompactRangeRewritesBottomLevel(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, Compression: NoCompression})
	defer d.Close()
	rng := newRand(7)
	for i := range 1000 {
		require.NoError(t, d.Put(fmt.Appendf(nil, "k%04d", i), randValue(rng, 1000), nil))
	}
	s := d.NewSnapshot()
	for i := range 1000 {
		require.NoError(t, d.Delete(fmt.Appendf(nil, "k%04d", i), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	s.Release()
	require.NoError(t, d.CompactRange(nil, nil))
	size, err := d.ApproximateSizes([]Range{{Start: []byte("k"), Limit: []byte("l")}})
	require.NoError(t, err)
	sst, _ := d.Property("leveldb.sstables")
	require.Less(t, size[0], uint64(10_000), "deleted data left at the bottom level:\n%s", sst)
	require.Empty(t, dump(t, d, nil))
}

// TestSnapshotSeesWholeBatches takes a snapshot between batches: it sees each batch entirely or
// not at all, in memtables and in tables.
func TestSnapshotSeesWholeBatches(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	var snaps []*Snapshot
	for i := range 60 {
		var b Batch
		for j := range 50 {
			b.Put(fmt.Appendf(nil, "k%02d", j), fmt.Appendf(nil, "%03d%0100d", i, j))
		}
		require.NoError(t, d.Write(&b, nil))
		snaps = append(snaps, d.NewSnapshot())
	}
	check := func(what string) {
		for i, s := range snaps {
			got := dump(t, d, &ReadOptions{Snapshot: s})
			require.Len(t, got, 50, what)
			for k, v := range got {
				require.Equal(t, fmt.Sprintf("%03d", i), v[:3], "%s: snapshot %d, key %s", what, i, k)
			}
		}
	}
	check("before compaction")
	require.NoError(t, d.CompactRange(nil, nil))
	check("after compaction")
	for _, s := range snaps {
		s.Release()
	}
}
