package db

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/wal"
)

// TestGroupCommit proves that concurrent synced writes share log records and fsyncs: with the
// log's fsync made as slow as a disk's, 16 goroutines doing synced Puts produce far fewer log
// syncs and log records than writes, and every write is there afterwards. The groups hold
// nearly all 16 writers (a leader lingers for company: lingerLocked); without that they
// alternate between one writer and fifteen, two syncs per sixteen writes.
func TestGroupCommit(t *testing.T) {
	const goroutines, perG = 16, 40
	var logSyncs atomic.Int64
	mem := vfs.NewMem()
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, ".log") {
			logSyncs.Add(1)
			time.Sleep(500 * time.Microsecond) // a disk's fsync, so that writers queue behind it
		}
		return nil
	}))
	d := openMem(t, fs, nil) // the default 4 MiB buffer: one log, no rotation
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				k, v := fmt.Appendf(nil, "g%02d-%03d", g, i), fmt.Appendf(nil, "value %d/%d", g, i)
				if err := d.Put(k, v, &WriteOptions{Sync: true}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	syncs := logSyncs.Load()
	require.NoError(t, d.Close())

	const writes = goroutines * perG
	records, entries := countLogRecords(t, mem, "/db")
	t.Logf("%d synced writes: %d log records, %d log syncs", writes, records, syncs)
	require.Equal(t, writes, entries, "every write is in the log")
	require.Less(t, records, writes/2, "writes were not grouped into shared log records")
	require.Less(t, syncs, int64(writes/2), "writes were not grouped into shared fsyncs")
	require.LessOrEqual(t, syncs, int64(writes/9), "synced groups alternate between one writer and the rest")

	d = openMem(t, mem, nil)
	defer d.Close()
	for g := range goroutines {
		for i := range perG {
			v, err := d.Get(fmt.Appendf(nil, "g%02d-%03d", g, i), nil)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("value %d/%d", g, i), string(v))
		}
	}
}

// countLogRecords reads every log file in dir and returns the number of records and of batch
// entries they hold.
func countLogRecords(t *testing.T, fs vfs.FS, dir string) (records, entries int) {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	for _, n := range names {
		if kind, _, ok := filenames.Parse(n); !ok || kind != filenames.Log {
			continue
		}
		f, err := fs.Open(filepath.Join(dir, n))
		require.NoError(t, err)
		r := wal.NewReader(f, n)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			records++
			entries += int(batch.Repr(rec).Count())
		}
		require.NoError(t, f.Close())
	}
	return records, entries
}

// TestGroupCommitMixedSync checks that unsynced writes queued behind a synced leader, and synced
// writes queued behind an unsynced one, all complete and survive a process kill (same MemFS),
// and that every synced one survives a power loss.
func TestGroupCommitMixedSync(t *testing.T) {
	mem := vfs.NewMem()
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, ".log") {
			time.Sleep(200 * time.Microsecond)
		}
		return nil
	}))
	d := openMem(t, fs, nil)
	var wg sync.WaitGroup
	var synced sync.Map
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				k := fmt.Sprintf("g%d-%02d", g, i)
				sync := (g+i)%3 == 0
				if err := d.Put([]byte(k), []byte(k), &WriteOptions{Sync: sync}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				if sync {
					synced.Store(k, true)
				}
			}
		}()
	}
	wg.Wait()
	crash := mem.CrashClone()
	require.NoError(t, d.Close())

	d = openMem(t, mem, nil)
	got := dump(t, d, nil)
	require.NoError(t, d.Close())
	require.Len(t, got, 8*50, "every acknowledged write after a clean close")

	d = openMem(t, crash, nil)
	got = dump(t, d, nil)
	require.NoError(t, d.Close())
	synced.Range(func(k, _ any) bool {
		require.Contains(t, got, k.(string), "a synced write lost to a power loss")
		return true
	})
}
