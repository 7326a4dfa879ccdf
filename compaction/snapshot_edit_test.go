package compaction

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/testseed"
	"github.com/stratadb/strata/wal"
)

// SnapshotEdit, with counters set, written by WriteManifest into another directory, recovers
// there to the same tree, compact pointers and counters; and it is the record a new MANIFEST
// starts with.
func TestSnapshotEditWrittenElsewhere(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	fs, vs := newTestVersionSet(t)
	var mu sync.Mutex
	for i := 0; i < 80; i++ {
		mu.Lock()
		require.NoError(t, vs.LogAndApply(randomEdit(rng, vs), &mu), "seed %d", seed)
		mu.Unlock()
	}

	mu.Lock()
	e := vs.SnapshotEdit()
	require.False(t, e.HasLogNum || e.HasPrevLogNum || e.HasNextFileNum || e.HasLastSeq, "no counters")
	e.SetLogNum(0)
	e.SetPrevLogNum(0)
	next := vs.PeekFileNumber()
	e.SetNextFileNum(next + 1)
	e.SetLastSeq(vs.LastSequence())
	want := stateString(vs.current, 0, 0, vs.lastSeq, vs.compactPointers)
	mu.Unlock()

	const copyDir = "/copy"
	require.NoError(t, fs.MkdirAll(copyDir, 0o755))
	renamed, err := WriteManifest(fs, copyDir, next, e)
	require.NoError(t, err)
	require.True(t, renamed)
	got, err := Recover(fs, copyDir, testICmp, nil)
	require.NoError(t, err)
	require.Equal(t, want, stateOf(got), "seed %d", seed)
	require.NoError(t, got.Close())

	// The next open's first LogAndApply starts a new MANIFEST with the same snapshot.
	mu.Lock()
	snap := vs.SnapshotEdit().Encode(nil)
	mu.Unlock()
	vs = reopen(t, fs, vs)
	mu.Lock()
	var empty VersionEdit
	require.NoError(t, vs.LogAndApply(&empty, &mu))
	num := vs.ManifestFileNumber()
	mu.Unlock()
	r := wal.NewReader(bytes.NewReader(filetest.Read(t, fs, filenames.Path(testDir, filenames.Manifest, num))), "manifest")
	first, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, snap, first)
	require.NoError(t, vs.Close())
}
