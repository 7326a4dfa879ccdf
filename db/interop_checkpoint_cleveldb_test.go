//go:build cleveldb

package db_test

// A checkpoint of a Strata DB opens in C++ leveldb 1.23 (through internal/cleveldb) with every
// key and value exact. Run with `go test -tags cleveldb -run Checkpoint ./db/`.

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/testutil/workload"
)

// TestInteropCheckpointOpensInLeveldb: Strata writes a DB with several levels, deletions,
// overwrites, snappy and bloom filters, and writes still in its log and memtable, and
// checkpoints it while open; C++ opens the copy with paranoid checks and reads exactly what the
// DB held at the call (not a write made after it), and so does Strata.
func TestInteropCheckpointOpensInLeveldb(t *testing.T) {
	g := workload.New(interopSeed(t), "i", interopShape(true))
	root := t.TempDir()
	src, ckpt := filepath.Join(root, "db"), filepath.Join(root, "ckpt")
	m := newInteropModel()
	sdb := interopOpenStrataBloom(t, src)
	w := interopStrataWriter(sdb)
	interopFill(t, g, w, m, interopPut("", "the empty key"))
	require.NoError(t, sdb.CompactRange(nil, nil))
	g.Shape = interopShape(false)
	interopWorkload(t, g, w, m, 800)
	require.NoError(t, sdb.CompactRange([]byte("zzz"), []byte("zzz")))
	interopUnflushed(t, g, w, m)
	interopRequireLevels(t, "Strata", interopLevels(t, sdb.Property))

	require.NoError(t, sdb.Checkpoint(ckpt))
	require.NoError(t, w(interopPut(string(interopKey(5)), "written after the checkpoint")))
	require.NoError(t, w(interopPut("after", "the checkpoint")))

	cdb, err := cleveldb.Open(ckpt, cleveldb.Options{BloomBitsPerKey: 10, ParanoidChecks: true, VerifyChecksums: true})
	require.NoError(t, err)
	interopRequireModel(t, "C++ reading Strata's checkpoint", interopCppReader(cdb), m, interopKeys)
	t.Logf("C++ reading the checkpoint: table files per level %v", interopLevels(t, cdb.Property))
	require.NoError(t, cdb.Close())

	// Strata reads what C++ left of the copy; the source is unaffected by both.
	copyDB, err := db.Open(ckpt, &db.Options{BloomBitsPerKey: 10, ParanoidChecks: true})
	require.NoError(t, err)
	interopRequireModel(t, "Strata reading the checkpoint after C++", interopStrataReader(copyDB), m, interopKeys)
	require.NoError(t, copyDB.Close())
	v, err := sdb.Get([]byte("after"), nil)
	require.NoError(t, err)
	require.Equal(t, "the checkpoint", string(v))
	require.NoError(t, sdb.Close())
}
