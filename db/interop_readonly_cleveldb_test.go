//go:build cleveldb

package db_test

// Read-only opens against C++ leveldb 1.23 (through internal/cleveldb), on the real filesystem.
// A read-only Strata holds a shared fcntl lock (F_RDLCK) on LOCK, which C++ leveldb's write lock
// (F_WRLCK) conflicts with both ways. fcntl locks belong to a process, so the holder of each
// case runs in a child process: a read-only Strata in TestReadOnlyHolder
// (readonly_unix_test.go), C++ leveldb in TestInteropLockHolder (interop_cleveldb_test.go).
//
// Run with `go test -tags cleveldb -run ReadOnly ./db/`.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/cleveldb"
)

// TestInteropReadOnlyLock: while a read-only Strata holds a DB, C++ leveldb cannot open it and a
// second read-only Strata can; once the reader closes, C++ opens it. While C++ holds a DB, a
// read-only Strata Open fails with ErrLocked; once C++ closes, it opens and reads C++'s write.
func TestInteropReadOnlyLock(t *testing.T) {
	if os.Getenv(roHolderModeEnv) != "" || os.Getenv(interopLockHolderEnv) != "" {
		t.Skip("in a holder process")
	}
	t.Run("strata reader holds, leveldb refused", func(t *testing.T) {
		dir := t.TempDir()
		writeHolderKey(t, dir, "strata")
		release := holdInChild(t, "readonly", dir)

		_, err := cleveldb.Open(dir, cleveldb.Options{})
		require.Error(t, err, "C++ leveldb opened a DB that a read-only Strata holds")
		var ce *cleveldb.Error
		require.ErrorAs(t, err, &ce)
		require.Equal(t, cleveldb.IOError, ce.Code, "%v", err)
		require.Contains(t, err.Error(), "lock")
		t.Logf("C++ leveldb: %v", err)

		r, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.NoError(t, err, "a second read-only Strata beside the first")
		require.NoError(t, r.Close())
		_, err = cleveldb.Open(dir, cleveldb.Options{})
		require.Error(t, err, "closing this process's reader must not release the other's lock")

		release()
		cdb, err := cleveldb.Open(dir, cleveldb.Options{})
		require.NoError(t, err, "C++ opens it once the read-only Strata closed")
		v, found, err := cdb.Get([]byte("holder"))
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "strata", string(v))
		require.NoError(t, cdb.Close())
	})
	t.Run("leveldb holds, strata reader refused", func(t *testing.T) {
		dir := t.TempDir()
		release := interopHoldInChild(t, "cleveldb", dir)
		d, err := db.Open(dir, &db.Options{ReadOnly: true})
		if err == nil {
			d.Close()
		}
		require.ErrorIs(t, err, db.ErrLocked, "a read-only Strata opened a DB that C++ leveldb holds")
		require.ErrorContains(t, err, "held by another process")
		t.Logf("Strata: %v", err)

		release()
		before := dirFiles(t, dir)
		d, err = db.Open(dir, &db.Options{ReadOnly: true})
		require.NoError(t, err, "a read-only Strata opens it once C++ closed it")
		v, err := d.Get([]byte("holder"), nil)
		require.NoError(t, err)
		require.Equal(t, "cleveldb", string(v), "C++'s write, replayed from its log")
		require.NoError(t, d.Close())
		require.Equal(t, before, dirFiles(t, dir), "the read-only Strata changed C++ leveldb's directory")

		cdb, err := cleveldb.Open(dir, cleveldb.Options{})
		require.NoError(t, err, "C++ opens it again after the read-only Strata")
		require.NoError(t, cdb.Close())
	})
}

// dirFiles is every file of dir with its contents.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = string(b)
	}
	return files
}
