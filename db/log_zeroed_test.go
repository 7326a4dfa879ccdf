package db

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/vfs"
)

// TestZeroedLogBlock zeroes the log's first block, which holds exactly the first write, so that
// the next block starts cleanly with the second write. The zeroed block is a hole, not unwritten
// space at the end of the log: a strict Open refuses the log, and a lenient one reports the loss
// and replays what follows, as it does past any damage. Neither may read the block as the log's
// clean start and silently apply the second write as if it were the first. (A corruption sweep
// found this: the reader skipped zeroed blocks silently wherever they were, as leveldb does.)
func TestZeroedLogBlock(t *testing.T) {
	mem := vfs.NewMem()
	d := openMem(t, mem, &Options{WriteBufferSize: 1 << 20})
	// One Put of key "a" whose record fills block 0: a 7-byte header and a 32761-byte payload
	// (12-byte batch header, kind, key length, key, 3-byte value length, value).
	require.NoError(t, d.Put([]byte("a"), bytes.Repeat([]byte("v"), 32761-12-1-1-1-3), nil))
	require.NoError(t, d.Put([]byte("b"), []byte("after"), nil))
	require.NoError(t, d.Close())
	require.NoError(t, mem.SyncDir("/db"))

	names, err := mem.List("/db")
	require.NoError(t, err)
	var logPath string
	for _, n := range names {
		if kind, _, ok := filenames.Parse(n); ok && kind == filenames.Log {
			logPath = filepath.Join("/db", n)
		}
	}
	require.NotEmpty(t, logPath)
	data, err := readFileErr(mem, logPath)
	require.NoError(t, err)
	require.Greater(t, len(data), 32768, "the second write must be in the second block")
	clear(data[:32768])
	writeTestFile(t, mem, logPath, data)

	_, err = openMemErr(mem.CrashClone(), &Options{ParanoidChecks: true})
	require.ErrorIs(t, err, ErrCorruption)
	require.ErrorContains(t, err, filepath.Base(logPath))
	require.ErrorContains(t, err, "32768 zeroed bytes with records after them")

	d, err = openMemErr(mem.CrashClone(), nil)
	require.NoError(t, err)
	defer d.Close()
	_, err = d.Get([]byte("a"), nil)
	require.ErrorIs(t, err, ErrNotFound)
	v, err := d.Get([]byte("b"), nil)
	require.NoError(t, err)
	require.Equal(t, "after", string(v))
}
