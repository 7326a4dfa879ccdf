package db

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/vfs"
)

// eventLog is an EventListener that records every event, as a line of text and as values.
type eventLog struct {
	mu       sync.Mutex
	lines    []string
	flushes  []FlushInfo // FlushEnd
	compacts []CompactionInfo
	created  []TableInfo
	deleted  []TableInfo
	stalls   []WriteStallInfo // WriteStallEnd
	damage   []DamageInfo
	bgErrs   []error
}

func (e *eventLog) add(line string, f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, line)
	if f != nil {
		f()
	}
}

func (e *eventLog) listener() *EventListener {
	return &EventListener{
		FlushBegin: func(i FlushInfo) { e.add(fmt.Sprintf("flush-begin %d", i.JobID), nil) },
		FlushEnd: func(i FlushInfo) {
			e.add(fmt.Sprintf("flush-end %d", i.JobID), func() { e.flushes = append(e.flushes, i) })
		},
		CompactionBegin: func(i CompactionInfo) { e.add(fmt.Sprintf("compaction-begin %d %s", i.JobID, i.Reason), nil) },
		CompactionEnd: func(i CompactionInfo) {
			e.add(fmt.Sprintf("compaction-end %d %s", i.JobID, i.Reason), func() { e.compacts = append(e.compacts, i) })
		},
		TableCreated: func(i TableInfo) {
			e.add(fmt.Sprintf("table-created #%d %s", i.Num, i.Reason), func() { e.created = append(e.created, i) })
		},
		TableDeleted: func(i TableInfo) {
			e.add(fmt.Sprintf("table-deleted #%d", i.Num), func() { e.deleted = append(e.deleted, i) })
		},
		WriteStallBegin: func(i WriteStallInfo) { e.add("stall-begin "+i.Reason.String(), nil) },
		WriteStallEnd: func(i WriteStallInfo) {
			e.add("stall-end "+i.Reason.String(), func() { e.stalls = append(e.stalls, i) })
		},
		BackgroundError: func(err error) { e.add("background-error", func() { e.bgErrs = append(e.bgErrs, err) }) },
		DamageSkipped: func(i DamageInfo) {
			e.add(fmt.Sprintf("damage %s@%d", filepath.Base(i.File), i.Offset), func() { e.damage = append(e.damage, i) })
		},
	}
}

// snapshot returns a copy of the lines so far.
func (e *eventLog) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.lines...)
}

// waitFor waits until a line starting with prefix has been delivered.
func (e *eventLog) waitFor(t *testing.T, prefix string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, l := range e.snapshot() {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}, 20*time.Second, time.Millisecond, "no %q event", prefix)
}

// TestMetricsMatchTheWork checks Metrics and the events against the work the DB did: a flush's
// bytes are its table's size on disk, a compaction's are its outputs', every table created is
// reported, the inputs a compaction made obsolete are reported deleted, the level counts match
// the tree, and the amplifications follow from the counters.
func TestMetricsMatchTheWork(t *testing.T) {
	fs := vfs.NewMem()
	var ev eventLog
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10, EventListener: ev.listener()})
	rng := newRand(testSeed(t))
	var userBytes int
	for round := 0; round < 3; round++ {
		for i := 0; i < 500; i++ {
			k, v := []byte(fmt.Sprintf("key%05d", i)), randValue(rng, 100)
			userBytes += len(k) + len(v)
			require.NoError(t, d.Put(k, v, nil))
		}
		require.NoError(t, d.flushMemTable())
	}
	require.NoError(t, d.CompactRange(nil, nil))
	m := d.Metrics()
	require.NoError(t, d.Close()) // delivers every queued event

	size := func(num uint64) uint64 {
		fi, err := fs.Stat(filenames.Path("/db", filenames.Table, num))
		if err != nil {
			return 0 // deleted since: its size is in the TableCreated event
		}
		return uint64(fi.Size())
	}
	sizes := map[uint64]uint64{}
	for _, c := range ev.created {
		sizes[c.Num] = c.Size
		if s := size(c.Num); s != 0 {
			require.Equal(t, s, c.Size, "table #%d's size", c.Num)
		}
	}
	var flushed uint64
	for _, f := range ev.flushes {
		require.NoError(t, f.Err)
		require.Equal(t, sizes[f.Table], f.TableBytes, "flush %d", f.JobID)
		flushed += f.TableBytes
	}
	require.EqualValues(t, len(ev.flushes), m.Flush.Count)
	require.Equal(t, flushed, m.Flush.BytesWritten, "a flush's bytes are its table's size")
	var compacted uint64
	for _, c := range ev.compacts {
		require.NoError(t, c.Err)
		var out uint64
		for _, n := range c.Outputs {
			out += sizes[n]
		}
		if c.Reason != "move" {
			require.Equal(t, out, c.OutputBytes, "compaction %d", c.JobID)
			compacted += out
		}
	}
	require.NotZero(t, m.Compaction.Count)
	require.Equal(t, compacted, m.Compaction.BytesWritten, "a compaction's bytes are its outputs' sizes")

	live := map[uint64]bool{}
	var tableBytes uint64
	for n := range tableFiles(t, fs) {
		live[n] = true
		tableBytes += size(n)
	}
	for _, del := range ev.deleted {
		require.False(t, live[del.Num], "table #%d reported deleted is still there", del.Num)
	}
	for _, c := range ev.created {
		require.True(t, live[c.Num] || containsTable(ev.deleted, c.Num), "table #%d neither live nor reported deleted", c.Num)
	}
	var files int
	var levelBytes uint64
	for _, l := range m.Levels {
		files += l.Files
		levelBytes += l.Bytes
	}
	require.Equal(t, len(live), files)
	require.Equal(t, tableBytes, levelBytes)

	require.Greater(t, m.WAL.BytesWritten, uint64(userBytes), "the log holds every key and value, and batch headers")
	want := float64(m.WAL.BytesWritten+m.Flush.BytesWritten+m.Compaction.BytesWritten) / float64(m.WAL.BytesWritten)
	require.InDelta(t, want, m.WriteAmplification, 1e-9)
	require.GreaterOrEqual(t, m.SpaceAmplification, 1.0)
	require.Greater(t, m.BlockCache.Capacity, 0)
	require.Greater(t, m.TableCache.Capacity, 0)
	require.Equal(t, 1, m.MemTable.Count)
	require.Nil(t, m.BackgroundError)
	require.Equal(t, Metrics{}, d.Metrics(), "a closed DB has no metrics")
}

func containsTable(infos []TableInfo, num uint64) bool {
	for _, i := range infos {
		if i.Num == num {
			return true
		}
	}
	return false
}

// gateFS blocks the creation of tables while closed, so a test can hold a flush (and a
// compaction) in the middle.
type gateFS struct {
	vfs.FS
	mu   sync.Mutex
	gate chan struct{} // nil: open
}

func newGateFS(fs vfs.FS) *gateFS {
	g := &gateFS{}
	g.FS = vfs.WithFaults(fs, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpCreate && strings.HasSuffix(path, ".ldb") {
			g.mu.Lock()
			gate := g.gate
			g.mu.Unlock()
			if gate != nil {
				<-gate
			}
		}
		return nil
	}))
	return g
}

func (g *gateFS) close() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gateFS) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

// TestWriteStallMemTableFull holds a flush until writes fill the next memtable: the stall is
// reported with its reason, counted with its time, and a WriteContext that times out in it
// returns the context's error and is never applied.
func TestWriteStallMemTableFull(t *testing.T) {
	gfs := newGateFS(vfs.NewMem())
	var ev eventLog
	d := openMem(t, gfs, &Options{WriteBufferSize: 64 << 10, EventListener: ev.listener()})
	defer d.Close()
	gfs.close()
	value := make([]byte, 1000)
	// Fill the memtable (its flush is held at the gate), then the next one: the write after
	// that waits for the held flush.
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := d.Put([]byte(fmt.Sprintf("k%06d", i)), value, nil); err != nil {
				done <- err
				return
			}
			d.mu.Lock()
			full := d.mu.imm != nil && d.mu.mem.Size() > d.opts.WriteBufferSize
			d.mu.Unlock()
			if full {
				break
			}
		}
		done <- d.Put([]byte("last"), value, nil) // stalls
	}()
	ev.waitFor(t, "stall-begin memtable-full")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var b Batch
	b.Put([]byte("cancelled"), []byte("never"))
	err := d.WriteContext(ctx, &b, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	gfs.open()
	require.NoError(t, <-done)
	ev.waitFor(t, "stall-end memtable-full")
	m := d.Metrics()
	require.GreaterOrEqual(t, m.WriteStalls[StallMemTableFull].Count, int64(1))
	require.Greater(t, m.WriteStalls[StallMemTableFull].Duration, time.Duration(0))
	_, err = d.Get([]byte("cancelled"), nil)
	require.ErrorIs(t, err, ErrNotFound, "a cancelled write is not applied")
	require.NoError(t, d.Put([]byte("after"), nil, nil))
	_, err = d.Get([]byte("cancelled"), nil)
	require.ErrorIs(t, err, ErrNotFound, "nor later")
	stats, _ := d.Property("leveldb.stats")
	require.Contains(t, stats, "waiting for a flush")
}

// TestWriteStallLevel0 fills level 0 with compaction held off: a write is first delayed at the
// slowdown trigger, then stopped at the stop trigger, each reported with its reason; a
// WriteContext stopped there returns the context's error and is not applied; CompactRange then
// clears level 0 and writes go on.
func TestWriteStallLevel0(t *testing.T) {
	var ev eventLog
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, EventListener: ev.listener()})
	defer d.Close()
	d.mu.Lock() // the background goroutines are idle: they read the options under d.mu
	d.vopts.L0CompactionTrigger = 100
	d.vopts.L0SlowdownWritesTrigger = 2
	d.vopts.L0StopWritesTrigger = 3
	d.mu.Unlock()
	// The first flushes may land deeper (nothing overlaps them there); overlapping ones stay in
	// level 0.
	for i := 0; numFiles(t, d, 0) < 3; i++ {
		require.Less(t, i, 10)
		require.NoError(t, d.Put([]byte("a"), []byte{byte(i)}, nil))
		require.NoError(t, d.Put([]byte("z"), []byte{byte(i)}, nil))
		require.NoError(t, d.flushMemTable())
	}

	// Writes go on, each delayed at the slowdown trigger, until the memtable is full: then the
	// write that needs a new one stops, until its context expires.
	value := make([]byte, 1000)
	var err error
	var last string
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "no write stopped")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		var b Batch
		last = fmt.Sprintf("m%04d", i)
		b.Put([]byte(last), value)
		err = d.WriteContext(ctx, &b, nil)
		cancel()
		if err == nil {
			continue
		}
		require.ErrorIs(t, err, context.DeadlineExceeded)
		if d.Metrics().WriteStalls[StallL0Stop].Count > 0 {
			break
		}
		// On a loaded machine the context can expire before the stop (in a slowdown's delay):
		// that write was not applied either; go on to the stop.
	}
	ev.waitFor(t, "stall-end l0-stop")
	_, err = d.Get([]byte(last), nil)
	require.ErrorIs(t, err, ErrNotFound, "the stopped write was not applied")
	lines := ev.snapshot()
	require.Contains(t, lines, "stall-begin l0-slowdown")
	require.Contains(t, lines, "stall-end l0-slowdown")
	require.Contains(t, lines, "stall-begin l0-stop")
	m := d.Metrics()
	require.Greater(t, m.WriteStalls[StallL0Slowdown].Count, int64(1), "each write is delayed once")
	require.Equal(t, int64(1), m.WriteStalls[StallL0Stop].Count)
	require.GreaterOrEqual(t, m.WriteStalls[StallL0Stop].Duration, 15*time.Millisecond)
	require.Equal(t, 3, m.Levels[0].Files)
	require.InDelta(t, 3.0/100, m.Levels[0].Score, 1e-9)

	// CompactRange's flush needs a new memtable too: lift the stop trigger (the scores of the
	// Version still say level 0 needs no compaction, so CompactRange does it).
	d.mu.Lock()
	d.vopts.L0SlowdownWritesTrigger, d.vopts.L0StopWritesTrigger = 8, 12
	d.mu.Unlock()
	require.NoError(t, d.CompactRange(nil, nil))
	require.Zero(t, numFiles(t, d, 0))
	require.NoError(t, d.Put([]byte("m"), []byte("later"), nil))
	ev.waitFor(t, "compaction-end")
}
