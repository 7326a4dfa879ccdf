package db

// Bad input to the API that the datadriven cases (api_test.go, testdata/api: the empty key,
// calls after Close, misused snapshots and batches, the LOCK, Open's existence checks, damaged
// and mismatched directories) do not express well: huge values and keys, nil options on the
// real filesystem, out-of-range options, the lock between processes, calls racing Close.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
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
