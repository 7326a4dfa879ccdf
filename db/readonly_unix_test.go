//go:build unix

package db_test

// Read-only opens across processes. fcntl locks belong to a process, so the other side runs in a
// child process: this test binary again (through childproc), running TestReadOnlyHolder, which
// opens the directory read-only or for writing and holds it until the parent releases it. The
// cleveldb interop tests (interop_readonly_cleveldb_test.go) start it too.

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/testutil/childproc"
)

const (
	roHolderModeEnv = "STRATA_READONLY_HOLDER" // "readonly" or "readwrite"
	roHolderDirEnv  = "STRATA_READONLY_HOLDER_DIR"
)

// TestReadOnlyHolder is not a test: it is the child process of the read-only lock tests. It
// opens the DB read-only or for writing, as the environment says, gives the value of key
// "holder" as its ready text, holds the DB until the parent releases it, and closes it.
func TestReadOnlyHolder(t *testing.T) {
	mode, dir := os.Getenv(roHolderModeEnv), os.Getenv(roHolderDirEnv)
	if mode == "" {
		t.Skip("the child process of the read-only lock tests")
	}
	d, err := db.Open(dir, &db.Options{ReadOnly: mode == "readonly"})
	require.NoError(t, err)
	v, err := d.Get([]byte("holder"), nil)
	require.NoError(t, err)
	childproc.Serve("holding the DB: " + string(v))
	require.NoError(t, d.Close())
}

// holdInChild starts a child process that opens dir (mode "readonly" or "readwrite") and holds
// it; it returns once the child holds it. release closes the DB in the child and waits for it.
func holdInChild(t *testing.T, mode, dir string) (release func()) {
	t.Helper()
	_, release = childproc.Hold(t, "TestReadOnlyHolder", roHolderModeEnv+"="+mode, roHolderDirEnv+"="+dir)
	return release
}

// writeHolderKey creates a DB in dir holding key "holder" = value, and closes it.
func writeHolderKey(t *testing.T, dir, value string) {
	t.Helper()
	d, err := db.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, d.Put([]byte("holder"), []byte(value), nil))
	require.NoError(t, d.Close())
}

// TestReadOnlyAcrossProcesses: a read-only DB in another process keeps a read-write Open out
// and lets a read-only one in; a read-write DB in another process keeps a read-only Open out.
func TestReadOnlyAcrossProcesses(t *testing.T) {
	if os.Getenv(roHolderModeEnv) != "" {
		t.Skip("in the holder process")
	}
	t.Run("reader holds", func(t *testing.T) {
		dir := t.TempDir()
		writeHolderKey(t, dir, "written")
		release := holdInChild(t, "readonly", dir)

		_, err := db.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrLocked, "a read-write Open while a reader in another process holds the DB")
		require.ErrorContains(t, err, "held by another process")
		r, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.NoError(t, err, "a read-only Open beside a reader in another process")
		v, err := r.Get([]byte("holder"), nil)
		require.NoError(t, err)
		require.Equal(t, "written", string(v))
		require.NoError(t, r.Close())
		_, err = db.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrLocked, "the other process's reader still holds the DB")

		release()
		w, err := db.Open(dir, nil)
		require.NoError(t, err, "a read-write Open once the reader closed")
		require.NoError(t, w.Close())
	})
	t.Run("writer holds", func(t *testing.T) {
		dir := t.TempDir()
		writeHolderKey(t, dir, "written")
		release := holdInChild(t, "readwrite", dir)

		_, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.ErrorIs(t, err, db.ErrLocked, "a read-only Open while a writer in another process holds the DB")
		require.ErrorContains(t, err, "held by another process")

		release()
		r, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.NoError(t, err, "a read-only Open once the writer closed")
		require.NoError(t, r.Close())
	})
}
