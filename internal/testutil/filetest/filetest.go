// Package filetest reads and writes whole files on a vfs.FS for tests: the one copy of what the
// tests of compaction and db used to repeat. It is safe for concurrent use to the extent the
// FS is.
package filetest

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// ReadErr returns the contents of path on fs, or the error that stopped it.
func ReadErr(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Read returns the contents of path on fs and fails t if it cannot.
func Read(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	b, err := ReadErr(fs, path)
	require.NoError(t, err)
	return b
}

// Write replaces path on fs with data and makes it durable: the file is synced and closed, and
// its directory synced, so a simulated crash keeps it.
func Write(t testing.TB, fs vfs.FS, path string, data []byte) {
	t.Helper()
	f, err := fs.Create(path)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fs.SyncDir(filepath.Dir(path)))
}
