package db

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/vfs"
)

// countTables returns the tables the Version holds and the table files in the directory.
func countTables(t *testing.T, d *DB, fs vfs.FS) (live, onDisk int) {
	t.Helper()
	for level := 0; level < 7; level++ {
		s, ok := d.Property("leveldb.num-files-at-level" + strconv.Itoa(level))
		require.True(t, ok)
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		live += n
	}
	names, err := fs.List("/db")
	require.NoError(t, err)
	for _, n := range names {
		if kind, _, ok := filenames.Parse(n); ok && kind == filenames.Table {
			onDisk++
		}
	}
	return live, onDisk
}

// A compaction deletes its inputs as soon as it is installed, not at the next flush.
func TestCompactionDeletesItsInputs(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	for i := 0; i < 20000; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("key%06d", i)), make([]byte, 100), nil))
	}
	for i := 0; i < 3000; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("key%06d", (i*7919)%20000)), make([]byte, 100), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	live, onDisk := countTables(t, d, fs)
	require.Equal(t, live, onDisk)
	require.NoError(t, d.Close())
}
