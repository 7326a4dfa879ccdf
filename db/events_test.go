package db

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// fillAndCompact writes n keys over several flushes, compacts them and returns the model.
func fillAndCompact(t *testing.T, d *DB, n int) kv {
	t.Helper()
	want := kv{}
	for i := 0; i < n; i++ {
		k, v := fmt.Sprintf("key%05d", i), fmt.Sprintf("value%d", i)
		require.NoError(t, d.Put([]byte(k), []byte(v), nil))
		want[k] = v
		if i%(n/4) == 0 {
			require.NoError(t, d.flushMemTable())
		}
	}
	require.NoError(t, d.CompactRange(nil, nil))
	return want
}

// TestEventListenerPanics: a listener that panics on every event changes nothing for the DB;
// each panic is written to the info log.
func TestEventListenerPanics(t *testing.T) {
	fs := vfs.NewMem()
	boom := func() { panic("listener bug") }
	l := &EventListener{
		FlushBegin: func(FlushInfo) { boom() }, FlushEnd: func(FlushInfo) { boom() },
		CompactionBegin: func(CompactionInfo) { boom() }, CompactionEnd: func(CompactionInfo) { boom() },
		TableCreated: func(TableInfo) { boom() }, TableDeleted: func(TableInfo) { boom() },
	}
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10, EventListener: l})
	want := fillAndCompact(t, d, 2000)
	require.NoError(t, d.Close())
	require.Contains(t, infoLogs(fs), "event listener panicked (the DB goes on): listener bug")
	d = openMem(t, fs, nil)
	defer d.Close()
	requireSame(t, want, dump(t, d, nil), "after a panicking listener")
}

// TestEventListenerBlocks: a listener that blocks holds up only the events after it: writes,
// flushes and compactions go on, and Close waits for the listener before it returns.
func TestEventListenerBlocks(t *testing.T) {
	fs := vfs.NewMem()
	release := make(chan struct{})
	var once sync.Once
	blocked := make(chan struct{})
	var delivered []string
	var mu sync.Mutex
	l := &EventListener{
		FlushEnd: func(FlushInfo) {
			once.Do(func() { close(blocked) })
			<-release
			mu.Lock()
			delivered = append(delivered, "flush")
			mu.Unlock()
		},
	}
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10, EventListener: l})
	want := fillAndCompact(t, d, 2000)
	<-blocked
	require.Greater(t, d.Metrics().Flush.Count, int64(1), "flushes went on behind the blocked listener")

	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while the listener was blocked with events queued")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-closed)
	mu.Lock()
	require.EqualValues(t, len(delivered), flushCount(t, fs), "every flush's event was delivered by Close")
	mu.Unlock()
	d = openMem(t, fs, nil)
	defer d.Close()
	requireSame(t, want, dump(t, d, nil), "after a blocking listener")
}

// flushCount counts the flushes the info log recorded.
func flushCount(t *testing.T, fs vfs.FS) int {
	t.Helper()
	return strings.Count(infoLogs(fs), "flushed table #")
}

// TestDamageSkippedReported damages a record in the middle of a log: the recovery that skips
// it (as leveldb does) reports it to the listener with the file, offset and bytes, and counts it
// in the metrics; the writes before it are there.
func TestDamageSkippedReported(t *testing.T) {
	mem := vfs.NewMem()
	d := openMem(t, mem, nil)
	value := bytes.Repeat([]byte("v"), 100)
	for i := 0; i < 3; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("k%d", i)), value, &WriteOptions{Sync: true}))
	}
	fs := mem.CrashClone() // the DB is never closed: its writes are in the log only
	require.NoError(t, d.Close())
	logs := namesOfKind(t, fs, "/db", filenames.Log)
	require.Len(t, logs, 1)
	path := "/db/" + logs[0]
	data := filetest.Read(t, fs, path)
	recLen := 7 + 12 + 1 + 1 + 2 + 1 + len(value) // header, batch header, kind, key and value with their lengths
	damageAt := int64(recLen)
	data[recLen+7+20] ^= 0xff // inside the second record's payload: its checksum fails
	filetest.Write(t, fs, path, data)

	var ev eventLog
	d = openMem(t, fs, &Options{EventListener: ev.listener()})
	m := d.Metrics()
	_, err := d.Get([]byte("k0"), nil)
	require.NoError(t, err)
	_, err = d.Get([]byte("k1"), nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, d.Close())

	require.NotEmpty(t, ev.damage)
	first := ev.damage[0]
	require.Equal(t, path, first.File)
	require.Equal(t, damageAt, first.Offset)
	require.Greater(t, first.Bytes, int64(0))
	require.Contains(t, first.Reason, "checksum")
	var total int64
	for _, dmg := range ev.damage {
		total += dmg.Bytes
	}
	require.EqualValues(t, len(ev.damage), m.Recovery.DamagedRecords)
	require.Equal(t, total, m.Recovery.BytesSkipped)
}

// TestLogger: with Options.Logger the info log's lines go to it, and no LOG file is written.
func TestLogger(t *testing.T) {
	fs := vfs.NewMem()
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10, Logger: logger})
	fillAndCompact(t, d, 1000)
	require.NoError(t, d.Close())
	out := buf.String()
	require.Contains(t, out, "level=INFO msg=\"opening /db\"")
	require.Contains(t, out, "flushed table #")
	require.Contains(t, out, "closed /db")
	names, err := fs.List("/db")
	require.NoError(t, err)
	require.NotContains(t, names, filenames.InfoLogName)
	require.NotContains(t, names, filenames.OldInfoLogName)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCompactRangeContext: a context done before the call compacts nothing; one done while the
// call waits behind another CompactRange returns at once; one cancelled while a step runs lets
// that step finish (CompactRangeContext returns only after it) and takes no other. The tree stays
// valid throughout.
func TestCompactRangeContext(t *testing.T) {
	gfs := newGateFS(vfs.NewMem())
	d := openMem(t, gfs, &Options{WriteBufferSize: 64 << 10})
	want := kv{}
	rng := newRand(testSeed(t))
	for i := 0; i < 4000; i++ {
		k, v := fmt.Sprintf("key%05d", i), randValue(rng, 100)
		require.NoError(t, d.Put([]byte(k), v, nil))
		want[k] = string(v)
	}
	require.NoError(t, d.flushMemTable())
	done, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, d.CompactRangeContext(done, nil, nil), context.Canceled)

	gfs.close()
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- d.CompactRangeContext(ctx, nil, nil) }()
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.mu.manual != nil && d.mu.manual.running
	}, 10*time.Second, time.Millisecond, "the compaction step never started")

	waitCtx, cancelWait := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelWait()
	require.ErrorIs(t, d.CompactRangeContext(waitCtx, nil, nil), context.DeadlineExceeded,
		"a CompactRange queued behind another gives up with its context")

	cancel()
	select {
	case err := <-first:
		t.Fatalf("returned while its step was still running: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	gfs.open()
	if err := <-first; err != nil {
		// Nil when the step it let finish was the range's last.
		require.ErrorIs(t, err, context.Canceled)
	}
	d.mu.Lock()
	require.Nil(t, d.mu.manual, "no step is left queued")
	d.mu.Unlock()
	requireSame(t, want, dump(t, d, nil), "after a cancelled CompactRange")
	require.NoError(t, d.CompactRange(nil, nil))
	requireSame(t, want, dump(t, d, nil), "after a CompactRange")
	require.NoError(t, d.Close())
	d = openMem(t, gfs, nil)
	defer d.Close()
	requireSame(t, want, dump(t, d, nil), "reopened")
}

// TestBackgroundErrorReported: a flush that fails (its table cannot be synced) stops writes with
// that error, reports it to the listener, and shows it in the metrics.
func TestBackgroundErrorReported(t *testing.T) {
	var failing atomic.Bool
	fs := vfs.WithFaults(vfs.NewMem(), vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if failing.Load() && op == vfs.OpSync && strings.HasSuffix(path, ".ldb") {
			return vfs.ErrInjected
		}
		return nil
	}))
	var ev eventLog
	d := openMem(t, fs, &Options{EventListener: ev.listener()})
	require.NoError(t, d.Put([]byte("k"), []byte("v"), nil))
	failing.Store(true)
	require.ErrorIs(t, d.flushMemTable(), vfs.ErrInjected)
	require.ErrorIs(t, d.Put([]byte("k2"), []byte("v"), nil), vfs.ErrInjected, "writes stop")
	require.ErrorIs(t, d.Metrics().BackgroundError, vfs.ErrInjected)
	ev.waitFor(t, "background-error")
	ev.mu.Lock()
	require.Len(t, ev.bgErrs, 1, "reported once")
	require.ErrorIs(t, ev.bgErrs[0], vfs.ErrInjected)
	require.ErrorIs(t, ev.flushes[0].Err, vfs.ErrInjected, "FlushEnd carries the error")
	ev.mu.Unlock()
	require.ErrorIs(t, d.Close(), vfs.ErrInjected)
}

// TestDamagedBatchReported: a log record whose checksum holds but whose batch does not decode is
// skipped by recovery and reported with its file, offset and size; a log left out whole because
// the log before it lost its end in a crash is reported too.
func TestDamagedBatchReported(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	require.NoError(t, d.Put([]byte("a"), []byte("1"), &WriteOptions{Sync: true}))
	crashed := fs.CrashClone()
	require.NoError(t, d.Close())
	logs := namesOfKind(t, crashed, "/db", filenames.Log)
	require.Len(t, logs, 1)
	path := "/db/" + logs[0]
	// The log holds one record (a 7-byte header and a 17-byte batch), then the zeros of the space
	// reserved ahead.
	good := filetest.Read(t, crashed, path)[:7+17]

	// Append a record with a valid checksum holding a batch that claims 5 entries and has none.
	var buf bytes.Buffer
	buf.Write(good)
	w := wal.NewAppendWriter(nopSync{&buf}, int64(len(good)))
	bogus := make([]byte, 12)
	bogus[0], bogus[8] = 9, 5 // sequence 9, count 5
	require.NoError(t, w.AddRecord(bogus))
	filetest.Write(t, crashed, path, buf.Bytes())

	var ev eventLog
	d = openMem(t, crashed, &Options{EventListener: ev.listener()})
	m := d.Metrics()
	v, err := d.Get([]byte("a"), nil)
	require.NoError(t, err)
	require.Equal(t, "1", string(v))
	require.NoError(t, d.Close())
	require.Len(t, ev.damage, 1)
	require.Equal(t, path, ev.damage[0].File)
	require.EqualValues(t, len(good), ev.damage[0].Offset)
	require.EqualValues(t, len(bogus), ev.damage[0].Bytes)
	require.Equal(t, int64(1), m.Recovery.DamagedRecords)
}

// nopSync is a wal.SyncWriter over a buffer.
type nopSync struct{ *bytes.Buffer }

func (nopSync) Sync() error { return nil }
