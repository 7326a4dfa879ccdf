//go:build cleveldb

package db_test

// A DB filled or added to by a bulk load opens in C++ leveldb 1.23 (through internal/cleveldb)
// with every key and value exact. Run with `go test -tags cleveldb -run Loader ./db/`.

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/testutil/workload"
)

// TestInteropLoaderOpensInLeveldb: Strata bulk-loads a new DB (many runs, keys with binary
// bytes and long keys, the empty key), then writes over part of it and loads again into a range
// that overlaps both the loaded tables and its memtable; C++ opens the directory with paranoid
// checks and reads exactly the model, and Strata reads what C++ left.
func TestInteropLoaderOpensInLeveldb(t *testing.T) {
	g := workload.New(interopSeed(t), "b", interopShape(false))
	dir := filepath.Join(t.TempDir(), "db")
	m := newInteropModel()
	sdb := interopOpenStrataBloom(t, dir)

	load := func(entries []workload.Entry) {
		t.Helper()
		l, err := sdb.NewLoader(&db.LoaderOptions{BufferSize: 64 << 10})
		require.NoError(t, err)
		for _, e := range entries {
			require.NoError(t, l.Put([]byte(e.Key), []byte(e.Value)))
		}
		require.NoError(t, l.Commit())
		m.apply(workload.Op{Kind: workload.Batch, Entries: entries})
	}
	var first []workload.Entry
	for i := -1; i < interopKeys; i++ {
		first = append(first, workload.Entry{Key: string(interopKey((i*7919 + interopKeys) % interopKeys)), Value: g.Value(0)})
	}
	first = append(first, workload.Entry{Key: "", Value: "the empty key"})
	load(first)
	interopWorkload(t, g, interopStrataWriter(sdb), m, 400)
	var second []workload.Entry
	for i := 0; i < interopKeys; i += 3 {
		second = append(second, workload.Entry{Key: string(interopKey(i)), Value: fmt.Sprintf("second load %d", i)})
	}
	load(second)
	t.Logf("Strata after two loads: table files per level %v", interopLevels(t, sdb.Property))
	require.NoError(t, sdb.Close())

	cdb, err := cleveldb.Open(dir, cleveldb.Options{BloomBitsPerKey: 10, ParanoidChecks: true, VerifyChecksums: true})
	require.NoError(t, err)
	interopRequireModel(t, "C++ reading Strata's loads", interopCppReader(cdb), m, interopKeys)
	require.NoError(t, cdb.Close())

	sdb, err = db.Open(dir, &db.Options{BloomBitsPerKey: 10, ParanoidChecks: true})
	require.NoError(t, err)
	interopRequireModel(t, "Strata reading its loads after C++", interopStrataReader(sdb), m, interopKeys)
	require.NoError(t, sdb.Close())
}
