package db

// Bad input to the API: odd keys and values, nil options, calls after Close, misused snapshots,
// a locked directory, and Open's existence checks. Damaged directories are in badopen_test.go.

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
	t.Run("EmptyKeyAndValue", func(t *testing.T) {
		fs := vfs.NewMem()
		d := openMem(t, fs, nil)
		require.NoError(t, d.Put([]byte{}, []byte{}, nil))
		require.NoError(t, d.Put([]byte("k"), nil, nil))
		require.NoError(t, d.Put(nil, nil, nil)) // nil is the empty key too
		check := func(d *DB) {
			for _, k := range []string{"", "k"} {
				v, err := d.Get([]byte(k), nil)
				require.NoError(t, err, "Get(%q)", k)
				require.Empty(t, v)
			}
			require.Equal(t, kv{"": "", "k": ""}, dump(t, d, nil))
			it := d.NewIterator(nil)
			require.True(t, it.First())
			require.Equal(t, []byte{}, append([]byte{}, it.Key()...))
			require.True(t, it.Seek(nil))
			require.Empty(t, it.Key())
			require.False(t, it.SeekLT(nil), "nothing sorts before the empty key")
			require.NoError(t, it.Close())
		}
		check(d)
		require.NoError(t, d.Close())
		d = openMem(t, fs, nil) // replayed from the log
		check(d)
		require.NoError(t, d.CompactRange(nil, nil)) // and from a table
		check(d)
		require.NoError(t, d.Delete(nil, nil))
		_, err := d.Get(nil, nil)
		require.ErrorIs(t, err, ErrNotFound)
		require.NoError(t, d.Close())
	})

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

	t.Run("AfterClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), nil)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		liveSnap := d.NewSnapshot()
		require.NoError(t, d.Close())

		_, err := d.Get([]byte("a"), nil)
		require.ErrorIs(t, err, ErrClosed, "Get")
		require.ErrorIs(t, d.Put([]byte("a"), nil, nil), ErrClosed, "Put")
		require.ErrorIs(t, d.Delete([]byte("a"), nil), ErrClosed, "Delete")
		var b Batch
		b.Put([]byte("x"), nil)
		require.ErrorIs(t, d.Write(&b, nil), ErrClosed, "Write")
		require.ErrorIs(t, d.Write(&Batch{}, &WriteOptions{Sync: true}), ErrClosed, "Write of an empty synced batch")
		it := d.NewIterator(nil)
		require.False(t, it.First())
		require.False(t, it.Valid())
		require.ErrorIs(t, it.Error(), ErrClosed, "NewIterator")
		require.ErrorIs(t, it.Close(), ErrClosed)
		s := d.NewSnapshot()
		_, err = d.Get([]byte("a"), &ReadOptions{Snapshot: s})
		require.ErrorIs(t, err, ErrClosed, "Get through a snapshot taken after Close")
		require.ErrorIs(t, d.NewIterator(&ReadOptions{Snapshot: s}).Error(), ErrClosed)
		s.Release()
		_, err = d.Get([]byte("a"), &ReadOptions{Snapshot: liveSnap})
		require.ErrorIs(t, err, ErrClosed, "Get through a snapshot taken before Close")
		liveSnap.Release()
		for _, name := range []string{"leveldb.stats", "leveldb.num-files-at-level0", "leveldb.sstables", "leveldb.approximate-memory-usage"} {
			_, ok := d.Property(name)
			require.False(t, ok, name)
		}
		_, err = d.ApproximateSizes([]Range{{Start: []byte("a"), Limit: []byte("z")}})
		require.ErrorIs(t, err, ErrClosed, "ApproximateSizes")
		require.ErrorIs(t, d.CompactRange(nil, nil), ErrClosed, "CompactRange")
		require.ErrorIs(t, d.Close(), ErrClosed, "Close again")
	})

	t.Run("IteratorAfterClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		for i := range 3000 {
			require.NoError(t, d.Put([]byte{byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'v'}, 100), nil))
		}
		require.NoError(t, d.CompactRange(nil, nil)) // so the iterator reads tables too
		require.NoError(t, d.Put([]byte("m"), []byte("memtable"), nil))
		it := d.NewIterator(nil)
		require.True(t, it.First())
		idle := d.NewIterator(nil) // never positioned
		require.NoError(t, d.Close())
		require.False(t, it.Next())
		require.False(t, it.Valid())
		require.ErrorIs(t, it.Error(), ErrClosed)
		require.False(t, it.Seek([]byte("m")))
		require.ErrorIs(t, it.Close(), ErrClosed)
		require.ErrorIs(t, it.Close(), ErrClosed, "closing twice")
		err := idle.Close()
		require.True(t, err == nil || errors.Is(err, ErrClosed), "closing an unpositioned iterator after the DB: %v", err)
	})

	t.Run("ReleasedSnapshot", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), nil)
		defer d.Close()
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		s := d.NewSnapshot()
		s.Release()
		s.Release() // twice is harmless
		(*Snapshot)(nil).Release()
		_, err := d.Get([]byte("a"), &ReadOptions{Snapshot: s})
		require.ErrorIs(t, err, ErrInvalidArgument)
		it := d.NewIterator(&ReadOptions{Snapshot: s})
		require.False(t, it.First())
		require.ErrorIs(t, it.Error(), ErrInvalidArgument)
		require.ErrorIs(t, it.Close(), ErrInvalidArgument)
	})

	t.Run("SnapshotOfAnotherDB", func(t *testing.T) {
		d1 := openMem(t, vfs.NewMem(), nil)
		defer d1.Close()
		d2 := openMem(t, vfs.NewMem(), nil)
		defer d2.Close()
		s := d1.NewSnapshot()
		defer s.Release()
		_, err := d2.Get([]byte("a"), &ReadOptions{Snapshot: s})
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.ErrorIs(t, d2.NewIterator(&ReadOptions{Snapshot: s}).Error(), ErrInvalidArgument)
	})

	t.Run("LockedInProcess", func(t *testing.T) {
		fs := vfs.NewMem()
		d := openMem(t, fs, nil)
		_, err := openMemErr(fs, nil)
		require.ErrorIs(t, err, ErrLocked)
		require.NoError(t, d.Close())
		d = openMem(t, fs, nil) // the lock is released by Close
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

	t.Run("ErrorIfExists", func(t *testing.T) {
		fs := vfs.NewMem()
		d := openMem(t, fs, nil)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		require.NoError(t, d.Close())
		before := dirState(t, fs, "/db")
		_, err := openMemErr(fs, &Options{ErrorIfExists: true})
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.Equal(t, before, dirState(t, fs, "/db"), "a failed Open changed the directory")
		d = openMem(t, vfs.NewMem(), &Options{ErrorIfExists: true}) // a new DB is fine
		require.NoError(t, d.Close())
	})

	t.Run("ErrorIfMissing", func(t *testing.T) {
		fs := vfs.NewMem()
		_, err := openMemErr(fs, &Options{ErrorIfMissing: true})
		require.ErrorIs(t, err, ErrInvalidArgument)
		_, err = fs.Stat("/db")
		require.ErrorIs(t, err, os.ErrNotExist, "ErrorIfMissing created the directory")
		require.NoError(t, fs.MkdirAll("/db", 0o755))
		_, err = openMemErr(fs, &Options{ErrorIfMissing: true})
		require.ErrorIs(t, err, ErrInvalidArgument, "an empty directory holds no DB")
		d := openMem(t, fs, nil)
		require.NoError(t, d.Close())
		d = openMem(t, fs, &Options{ErrorIfMissing: true})
		require.NoError(t, d.Close())
	})

	t.Run("BatchReuse", func(t *testing.T) {
		d1 := openMem(t, vfs.NewMem(), nil)
		defer d1.Close()
		d2 := openMem(t, vfs.NewMem(), nil)
		defer d2.Close()
		var b Batch
		b.Put([]byte("a"), []byte("1"))
		b.Delete([]byte("b"))
		require.NoError(t, d1.Write(&b, nil))
		require.NoError(t, d2.Write(&b, nil), "the same batch to a second DB")
		require.NoError(t, d1.Put([]byte("a"), []byte("2"), nil))
		require.NoError(t, d1.Write(&b, nil), "the same batch again, at a new sequence number")
		b.Reset()
		require.Zero(t, b.Len())
		b.Put([]byte("c"), []byte("3"))
		require.NoError(t, d1.Write(&b, nil))
		require.Equal(t, kv{"a": "1", "c": "3"}, dump(t, d1, nil))
		require.Equal(t, kv{"a": "1"}, dump(t, d2, nil))
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

	t.Run("InvertedCompactRange", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		defer d.Close()
		for i := range 2000 {
			require.NoError(t, d.Put([]byte{'k', byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'v'}, 100), nil))
		}
		require.NoError(t, d.CompactRange([]byte("z"), []byte("a")))
		require.NoError(t, d.CompactRange([]byte("k"), []byte("k")))
		require.NoError(t, d.CompactRange([]byte{}, []byte{}))
		require.Len(t, dump(t, d, nil), 2000)
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

	t.Run("DirIsAFile", func(t *testing.T) {
		fs := vfs.NewMem()
		writeTestFile(t, fs, "/db", []byte("not a directory"))
		_, err := openMemErr(fs, nil)
		require.Error(t, err)
		require.Equal(t, "not a directory", string(readFile(t, fs, "/db")))
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
