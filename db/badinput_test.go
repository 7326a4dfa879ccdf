package db

// Bad input to the API that the datadriven cases (api_test.go, testdata/api: the empty key,
// calls after Close, misused snapshots and batches, the LOCK, Open's existence checks, damaged
// and mismatched directories) do not express: huge values and keys, nil options on the real
// filesystem, out-of-range options, the lock between processes, calls racing Close, and logs
// damaged at a known record: recovery without ParanoidChecks skips the damage, keeps every intact
// record and says in the LOG what it dropped; a torn tail is a write never acknowledged.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/wal"
)

func TestBadInput(t *testing.T) {
	t.Run("HugeValue", func(t *testing.T) {
		fs := vfs.NewMem()
		d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
		big := randValue(newRand(1), 16<<20)
		require.NoError(t, d.Put([]byte("big"), big, nil))
		require.NoError(t, d.Put([]byte("small"), []byte("s"), nil))
		check := func(d *DB, what string) {
			v, err := d.Get([]byte("big"), nil)
			require.NoError(t, err, what)
			require.True(t, bytes.Equal(big, v), what)
			it := d.NewIterator(nil)
			require.True(t, it.First(), what)
			require.True(t, bytes.Equal(big, it.Value()), what)
			require.NoError(t, it.Close())
		}
		check(d, "in the memtable")
		require.NoError(t, d.Close())
		d = openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
		check(d, "replayed")
		require.NoError(t, d.CompactRange(nil, nil))
		check(d, "compacted")
		require.NoError(t, d.Close())
	})

	t.Run("LargeKey", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), nil)
		k := bytes.Repeat([]byte("K"), 1<<20)
		require.NoError(t, d.Put(k, []byte("v"), nil))
		require.NoError(t, d.CompactRange(nil, nil))
		v, err := d.Get(k, nil)
		require.NoError(t, err)
		require.Equal(t, "v", string(v))
		require.NoError(t, d.Close())
	})

	t.Run("NilOptions", func(t *testing.T) {
		dir := t.TempDir() // nil Options means the OS filesystem
		d, err := Open(filepath.Join(dir, "db"), nil)
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		require.NoError(t, d.Delete([]byte("b"), nil))
		var b Batch
		b.Put([]byte("c"), []byte("3"))
		require.NoError(t, d.Write(&b, nil))
		require.NoError(t, d.Write(nil, nil), "a nil batch writes nothing")
		require.NoError(t, d.Write(&Batch{}, nil))
		require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
		v, err := d.Get([]byte("a"), nil)
		require.NoError(t, err)
		require.Equal(t, "1", string(v))
		it := d.NewIterator(nil)
		require.True(t, it.Last())
		require.Equal(t, "c", string(it.Key()))
		require.NoError(t, it.Close())
		require.NoError(t, d.Close())
	})

	t.Run("OutOfRangeOptions", func(t *testing.T) {
		o := &Options{WriteBufferSize: -1, BlockCacheSize: -1, BlockSize: -1, BloomBitsPerKey: -7,
			MaxOpenFiles: -1, MaxFileSize: -1, BlockRestartInterval: -1, Compression: Compression(99)}
		d := openMem(t, vfs.NewMem(), o)
		for i := range 2000 {
			require.NoError(t, d.Put([]byte{byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'x'}, 100), nil))
		}
		require.NoError(t, d.CompactRange(nil, nil))
		require.Len(t, dump(t, d, nil), 2000)
		require.NoError(t, d.Close())
	})

	t.Run("LockedOS", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "db")
		d, err := Open(dir, &Options{})
		require.NoError(t, err)
		_, err = Open(dir, nil)
		require.ErrorIs(t, err, ErrLocked)
		require.ErrorIs(t, Destroy(dir), ErrLocked, "Destroy of an open DB")
		require.NoError(t, d.Close())
		d, err = Open(dir, nil)
		require.NoError(t, err)
		require.NoError(t, d.Close())
		require.NoError(t, Destroy(dir))
		_, err = os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist, "Destroy leaves nothing")
	})

	t.Run("CompactRangeRacingClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		for i := range 5000 {
			require.NoError(t, d.Put([]byte{byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'v'}, 200), nil))
		}
		done := make(chan error, 1)
		go func() { done <- d.CompactRange(nil, nil) }()
		time.Sleep(time.Millisecond)
		require.NoError(t, d.Close())
		if err := <-done; err != nil {
			require.ErrorIs(t, err, ErrClosed, "CompactRange cut short by Close")
		}
	})

	t.Run("ConcurrentClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), nil)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		errs := make(chan error, 4)
		for range 4 {
			go func() { errs <- d.Close() }()
		}
		ok := 0
		for range 4 {
			if err := <-errs; err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, ErrClosed)
			}
		}
		require.Equal(t, 1, ok, "exactly one Close succeeds")
	})

	t.Run("WritesRacingClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					err := d.Put([]byte{byte(g), byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'v'}, 200), &WriteOptions{Sync: i%7 == 0})
					if err != nil {
						if !errors.Is(err, ErrClosed) {
							t.Errorf("Put racing Close: %v", err)
						}
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it := d.NewIterator(nil)
				for ok := it.First(); ok; ok = it.Next() {
				}
				err := it.Close()
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("iterator racing Close: %v", err)
					}
					return
				}
			}
		}()
		for numFiles(t, d, 0)+numFiles(t, d, 1)+numFiles(t, d, 2) == 0 {
			time.Sleep(time.Millisecond) // until a flush has happened under the writers
		}
		require.NoError(t, d.Close())
		wg.Wait()
	})
}

func TestBadOpen(t *testing.T) {
	t.Run("CorruptLogRecord", func(t *testing.T) {
		for _, paranoid := range []bool{true, false} {
			fs, logName, offsets := logWithRecords(t)
			data := readFile(t, fs, logName)
			data[offsets[1]+7+2] ^= 0x55 // inside b's batch: its checksum no longer matches
			writeTestFile(t, fs, logName, data)
			d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid})
			if paranoid {
				require.ErrorIs(t, err, ErrCorruption, "ParanoidChecks")
				require.Contains(t, err.Error(), filepath.Base(logName))
				continue
			}
			require.NoError(t, err, "without ParanoidChecks recovery skips the damage")
			got := dump(t, d, nil)
			require.NoError(t, d.Close())
			require.Equal(t, "A", got["a"], "the record before the damage")
			require.NotContains(t, got, "b", "the damaged record")
			require.Equal(t, "D", got["d"], "the record in the next block")
			info := string(readFile(t, fs, "/db/LOG"))
			require.Contains(t, info, filepath.Base(logName), "the LOG names the damaged log")
			require.Contains(t, info, "dropped", "the LOG reports what was dropped")
		}
	})

	t.Run("TornTail", func(t *testing.T) {
		for _, paranoid := range []bool{true, false} {
			fs, logName, _ := logWithRecords(t)
			data := readFile(t, fs, logName)
			writeTestFile(t, fs, logName, data[:len(data)-3]) // the last record, cut short by a crash
			d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid})
			require.NoError(t, err, "a torn tail is a write that was never acknowledged (paranoid=%v)", paranoid)
			got := dump(t, d, nil)
			require.NoError(t, d.Close())
			require.Equal(t, kv{"a": "A", "b": "B", "c": got["c"], "d": "D"}, got, "every complete record (paranoid=%v)", paranoid)
			require.Len(t, got["c"], 33<<10)
			require.NotContains(t, got, "e", "the torn record")
		}
	})
}

// logWithRecords makes a closed DB whose log holds five records: "a" and "b" (small), "c" (33
// KiB, so it ends in the log's second block), "d" and "e" (small, in the second block). It returns
// the log's path and the offset of each record.
func logWithRecords(t *testing.T) (*vfs.MemFS, string, []int64) {
	t.Helper()
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		v := []byte(strings.ToUpper(k))
		if k == "c" {
			v = bytes.Repeat([]byte("C"), 33<<10)
		}
		require.NoError(t, d.Put([]byte(k), v, nil))
	}
	require.NoError(t, d.Close())
	logs := namesOfKind(t, fs, filenames.Log)
	require.Len(t, logs, 1)
	name := filepath.Join("/db", logs[0])
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	r := wal.NewReader(f, name)
	var offsets []int64
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		offsets = append(offsets, r.Offset())
	}
	require.Len(t, offsets, 5)
	require.Greater(t, offsets[3], int64(32<<10), "d starts in the second block")
	return fs, name, offsets
}
