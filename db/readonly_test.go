package db

// Tests of Options.ReadOnly (readonly.go). A writer leaves a directory on a MemFS in one of the
// states of roStates (closed; killed with its writes in the log only; killed with more writes in
// the log than the reader's write buffer, so that the replay fills two memtables, or many); the
// tests copy it onto every filesystem of fscases and open it read-only there. Every test also
// requires the directory, every file's name and bytes, LOG included, to be exactly as the writer
// left it after the read-only open, its reads and its Close.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/fscases"
	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

// roState is a DB directory a writer left at /db on a MemFS, and what it holds.
type roState struct {
	name string
	fs   *vfs.MemFS
	want kv
	// opts are the read-only open's options (ReadOnly is set by the test).
	opts Options
	// memtables is how many memtables the read-only DB reads (Metrics().MemTable.Count).
	memtables int
	// merged: the replay filled more than two memtables, which Open merged into one.
	merged bool
}

// roStates builds the writers' states for seed.
func roStates(t *testing.T, seed uint64) []roState {
	// Closed: the reliability workload, with flushes and compactions into several levels, and the
	// last memtable's writes left in the log, as Close leaves them.
	closed := vfs.NewMem()
	want := kv{}
	w := openMem(t, closed, relOpts())
	g := relGen(seed, "ro")
	for _, op := range g.Take(sized(600, 200, 3000)) {
		require.NoError(t, applyOp(w, op))
		want.Apply(op)
	}
	require.NoError(t, w.Close())
	states := []roState{{name: "closed", fs: closed, want: want, opts: *relOpts()}}

	// Killed: writes with overwrites and deletes that never left the log (a write buffer larger
	// than all of them), the last one synced, then a crash. Read back with the same buffer they
	// fill one memtable; with a 64 KiB buffer two, or many.
	for _, k := range []struct {
		name      string
		writes    int
		reader    int // the reader's WriteBufferSize
		memtables int
		merged    bool
	}{
		{"killed", 1000, 4 << 20, 1, false},
		{"killed-two-memtables", 100, 64 << 10, 2, false},
		{"killed-many-memtables", 1000, 64 << 10, 1, true},
	} {
		mem := vfs.NewMem()
		w := openMem(t, mem, &Options{WriteBufferSize: 4 << 20})
		t.Cleanup(func() { w.Close() })
		want := kv{}
		rng := newRand(seed)
		for i := range k.writes {
			op := workload.Op{Kind: workload.Put, Entries: []workload.Entry{{
				Key: fmt.Sprintf("k%03d", rng.IntN(300)), Value: fmt.Sprintf("%d/%s", i, randValue(rng, 1000))}}}
			if i%7 == 3 {
				op = workload.Op{Kind: workload.Delete, Entries: []workload.Entry{{Key: fmt.Sprintf("k%03d", rng.IntN(300)), Delete: true}}}
			}
			op.Sync = i == k.writes-1
			require.NoError(t, applyOp(w, op))
			want.Apply(op)
		}
		crashed := mem.CrashClone()
		require.Empty(t, namesOfKind(t, crashed, "/db", filenames.Table), "the writes are in the log only")
		states = append(states, roState{name: k.name, fs: crashed, want: want,
			opts: Options{WriteBufferSize: k.reader}, memtables: k.memtables, merged: k.merged})
	}
	return states
}

// copyDir copies every file of fromDir on from into toDir on to, which must exist.
func copyDir(t testing.TB, from vfs.FS, fromDir string, to vfs.FS, toDir string) {
	t.Helper()
	names, err := from.List(fromDir)
	require.NoError(t, err)
	for _, n := range names {
		filetest.Write(t, to, filepath.Join(toDir, n), filetest.Read(t, from, filepath.Join(fromDir, n)))
	}
}

// memCopy returns a new MemFS holding a copy of st's directory at /db, every file synced.
func memCopy(t testing.TB, st roState) *vfs.MemFS {
	t.Helper()
	fs := vfs.NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	copyDir(t, st.fs, "/db", fs, "/db")
	return fs
}

// openReadOnly opens dir on fs read-only with opts.
func openReadOnly(fs vfs.FS, dir string, opts Options) (*DB, error) {
	opts.FS, opts.ReadOnly = fs, true
	return Open(dir, &opts)
}

// requireReadOnlyReads reads all of d in every way a reader can and requires want.
func requireReadOnlyReads(t *testing.T, d *DB, want kv, seed uint64) {
	t.Helper()
	requireSame(t, want, dump(t, d, nil), "a read-only DB")
	keys := make([]string, 0, len(want)+20)
	for k := range want {
		keys = append(keys, k)
	}
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("absent%02d", i))
	}
	requireGets(t, d, nil, want, keys, "Get")
	for _, k := range keys[:min(len(keys), 50)] {
		has, err := d.Has([]byte(k), nil)
		require.NoError(t, err)
		_, ok := want[k]
		require.Equal(t, ok, has, "Has(%s)", short(k))
	}

	snap := d.NewSnapshot()
	requireSame(t, want, dump(t, d, &ReadOptions{Snapshot: snap, VerifyChecksums: true}), "through a snapshot")
	snap.Release()

	it := d.NewIterator(nil)
	iterutil.CheckAgainstModel(t, dbIter{it}, &iterutil.Model{Cmp: bytes.Compare, Entries: want.Entries(nil, nil)}, newRand(seed), 500)
	require.NoError(t, it.Close())

	for _, p := range []string{"leveldb.stats", "leveldb.sstables", "leveldb.approximate-memory-usage", "leveldb.num-files-at-level0"} {
		_, ok := d.Property(p)
		require.True(t, ok, p)
	}
	require.Equal(t, 0, intProperty(t, d, "strata.mapped-log-bytes"))
	sizes, err := d.ApproximateSizes([]Range{{Start: []byte(""), Limit: []byte("\xff")}, {Start: []byte("k"), Limit: []byte("l")}})
	require.NoError(t, err)
	require.Len(t, sizes, 2)
	m := d.Metrics()
	require.Zero(t, m.WAL.BytesWritten)
	require.Zero(t, m.Flush.Count)
	require.Zero(t, m.Compaction.Count)
}

// requireWritesRefused requires every call that would change d to fail with ErrReadOnly.
func requireWritesRefused(t *testing.T, d *DB) {
	t.Helper()
	var b Batch
	b.Put([]byte("k"), []byte("v"))
	for name, err := range map[string]error{
		"Put":                 d.Put([]byte("k"), []byte("v"), nil),
		"Put synced":          d.Put([]byte("k"), []byte("v"), &WriteOptions{Sync: true}),
		"Delete":              d.Delete([]byte("k"), nil),
		"Write":               d.Write(&b, nil),
		"Write empty":         d.Write(&Batch{}, &WriteOptions{Sync: true}),
		"WriteContext":        d.WriteContext(context.Background(), &b, nil),
		"CompactRange":        d.CompactRange(nil, nil),
		"CompactRangeContext": d.CompactRangeContext(context.Background(), []byte("a"), []byte("z")),
	} {
		require.ErrorIs(t, err, ErrReadOnly, name)
	}
}

// TestReadOnly opens each writer's state read-only on every filesystem: exactly the writer's
// data, every read works, every write is refused, and the directory is unchanged.
func TestReadOnly(t *testing.T) {
	seed := testSeed(t)
	for _, st := range roStates(t, seed) {
		for _, c := range fscases.All() {
			t.Run(st.name+"/"+c.Name, func(t *testing.T) {
				fs, dir := c.Setup(t)
				copyDir(t, st.fs, "/db", fs, dir)
				before := dirState(t, fs, dir)

				var lines logLines
				opts := st.opts
				opts.Logger = slog.New(&lines)
				d, err := openReadOnly(fs, dir, opts)
				require.NoError(t, err)
				requireReadOnlyReads(t, d, st.want, seed)
				requireWritesRefused(t, d)
				if st.memtables > 0 {
					require.Equal(t, st.memtables, d.Metrics().MemTable.Count, "memtables")
				}
				require.Equal(t, st.merged, lines.contains("merged the"), "merged the memtables the replay filled")
				require.True(t, lines.contains("opened "+dir+" read-only"), "the Logger gets the lines")
				requireSame(t, st.want, dump(t, d, nil), "after the refused writes")

				// Checkpoint writes only its target, so it works on a read-only DB.
				ckpt := dir + ".ckpt"
				require.NoError(t, d.Checkpoint(ckpt))
				c, err := openReadOnly(fs, ckpt, Options{})
				require.NoError(t, err)
				requireSame(t, st.want, dump(t, c, nil), "a checkpoint of the read-only DB")
				require.NoError(t, c.Close())

				require.NoError(t, d.Close())
				require.ErrorIs(t, d.Close(), ErrClosed)

				require.Equal(t, before, dirState(t, fs, dir), "the read-only open changed the directory")
			})
		}
	}
}

// logLines is an slog.Handler that keeps the messages.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

func (l *logLines) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// TestReadOnlyWritesNothing opens each state read-only through a filesystem that fails every
// call that would change something (create, rename, remove, write, sync, mkdir, directory sync,
// allocate, truncate, and the exclusive lock), reads, closes, and requires that none was even
// attempted.
func TestReadOnlyWritesNothing(t *testing.T) {
	seed := testSeed(t)
	for _, st := range roStates(t, seed) {
		for _, inner := range []string{"mem", "os"} {
			t.Run(st.name+"/"+inner, func(t *testing.T) {
				var base vfs.FS = memCopy(t, st)
				dir := "/db"
				if inner == "os" {
					base, dir = vfs.NewOS(), t.TempDir()
					copyDir(t, st.fs, "/db", base, dir)
				}
				var attempts sync.Map
				mutating := vfs.OnPath(func(path string) bool { return true }, vfs.ErrInjected,
					vfs.OpCreate, vfs.OpRename, vfs.OpRemove, vfs.OpWrite, vfs.OpSync, vfs.OpMkdir,
					vfs.OpSyncDir, vfs.OpAllocate, vfs.OpTruncate, vfs.OpLock)
				fs := vfs.WithFaults(base, vfs.InjectorFunc(func(op vfs.Op, path string) error {
					err := mutating.MaybeError(op, path)
					if err != nil {
						attempts.Store(op.String()+" "+path, true)
					}
					return err
				}))
				before := dirState(t, base, dir)
				d, err := openReadOnly(fs, dir, st.opts)
				require.NoError(t, err)
				requireReadOnlyReads(t, d, st.want, seed)
				requireWritesRefused(t, d)
				require.NoError(t, d.Close())
				var tried []string
				attempts.Range(func(k, _ any) bool {
					tried = append(tried, k.(string))
					return true
				})
				require.Empty(t, tried, "a read-only DB attempted to change the directory")
				require.Zero(t, mutating.Hits())
				require.Equal(t, before, dirState(t, base, dir))
			})
		}
	}
}

// TestReadOnlyShared: read-only opens of one directory share it, in one process; a read-write
// Open fails with ErrLocked until the last of them closes, and while a read-write DB holds the
// directory a read-only Open fails with ErrLocked.
func TestReadOnlyShared(t *testing.T) {
	seed := testSeed(t)
	st := roStates(t, seed)[0]
	for _, c := range fscases.All() {
		t.Run(c.Name, func(t *testing.T) {
			fs, dir := c.Setup(t)
			copyDir(t, st.fs, "/db", fs, dir)
			before := dirState(t, fs, dir)

			r1, err := openReadOnly(fs, dir, st.opts)
			require.NoError(t, err)
			r2, err := openReadOnly(fs, dir, st.opts)
			require.NoError(t, err, "a second read-only open beside the first")
			requireSame(t, st.want, dump(t, r2, nil), "the second reader")
			_, err = Open(dir, &Options{FS: fs})
			require.ErrorIs(t, err, ErrLocked, "a read-write Open while two readers hold the directory")

			require.NoError(t, r1.Close())
			requireSame(t, st.want, dump(t, r2, nil), "the second reader after the first closed")
			_, err = Open(dir, &Options{FS: fs})
			require.ErrorIs(t, err, ErrLocked, "closing one reader must keep the other's lock")
			require.NoError(t, r2.Close())
			require.Equal(t, before, dirState(t, fs, dir))

			w, err := Open(dir, &Options{FS: fs})
			require.NoError(t, err, "a read-write Open once both readers closed")
			_, err = openReadOnly(fs, dir, st.opts)
			require.ErrorIs(t, err, ErrLocked, "a read-only Open while a read-write DB holds the directory")
			require.ErrorContains(t, err, filepath.Join(dir, filenames.LockName))
			require.NoError(t, w.Put([]byte("after"), []byte("the readers"), nil))
			require.NoError(t, w.Close())

			r, err := openReadOnly(fs, dir, st.opts)
			require.NoError(t, err, "a read-only Open once the writer closed")
			v, err := r.Get([]byte("after"), nil)
			require.NoError(t, err)
			require.Equal(t, "the readers", string(v), "the writer's last write, replayed from its log")
			require.NoError(t, r.Close())
		})
	}
}

// TestReadOnlyConcurrentOpens opens and closes read-only DBs of one directory from many
// goroutines at once, reading from each, while another goroutine tries read-write Opens, which
// must all fail: one reader stays open throughout.
func TestReadOnlyConcurrentOpens(t *testing.T) {
	seed := testSeed(t)
	st := roStates(t, seed)[1]
	key := smallestKey(st.want)
	for _, name := range []string{"mem", "os"} {
		t.Run(name, func(t *testing.T) {
			var fs vfs.FS = memCopy(t, st)
			dir := "/db"
			if name == "os" {
				fs, dir = vfs.NewOS(), t.TempDir()
				copyDir(t, st.fs, "/db", fs, dir)
			}
			before := dirState(t, fs, dir)
			hold, err := openReadOnly(fs, dir, st.opts)
			require.NoError(t, err)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 10 {
						if g == 0 {
							w, err := Open(dir, &Options{FS: fs})
							if err == nil {
								errs <- fmt.Errorf("a read-write Open succeeded while a reader was open (close: %v)", w.Close())
							} else if !errors.Is(err, ErrLocked) {
								errs <- err
							}
							continue
						}
						r, err := openReadOnly(fs, dir, st.opts)
						if err != nil {
							errs <- err
							continue
						}
						if v, err := r.Get([]byte(key), nil); err != nil || string(v) != st.want[key] {
							errs <- fmt.Errorf("reader %d: Get(%s): %v", g, short(key), err)
						}
						if err := r.Close(); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			require.NoError(t, hold.Close())
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.Equal(t, before, dirState(t, fs, dir))
		})
	}
}

// smallestKey returns the smallest key of m.
func smallestKey(m kv) string {
	first, ok := "", false
	for k := range m {
		if !ok || k < first {
			first, ok = k, true
		}
	}
	return first
}

// TestReadOnlyNoDB: a read-only Open of a directory that holds no DB fails, matching
// os.ErrNotExist (and ErrInvalidArgument, as with ErrorIfMissing), and creates nothing: not the
// directory, not LOCK. A directory with DB files but no CURRENT is damaged (ErrCorruption).
func TestReadOnlyNoDB(t *testing.T) {
	for _, c := range fscases.All() {
		t.Run(c.Name, func(t *testing.T) {
			fs, dir := c.Setup(t)
			missing := filepath.Join(dir, "missing")
			_, err := openReadOnly(fs, missing, Options{})
			require.ErrorIs(t, err, os.ErrNotExist)
			require.ErrorIs(t, err, ErrInvalidArgument)
			require.EqualError(t, err, "strata: open "+missing+": no DB there (ReadOnly never creates one): "+missing+" does not exist")
			_, err = fs.Stat(missing)
			require.ErrorIs(t, err, os.ErrNotExist, "the directory was created")

			_, err = openReadOnly(fs, dir, Options{})
			require.ErrorIs(t, err, os.ErrNotExist, "an empty directory")
			require.ErrorIs(t, err, ErrInvalidArgument)
			require.ErrorContains(t, err, filepath.Join(dir, filenames.CurrentName))
			require.Empty(t, dirState(t, fs, dir), "the read-only open created files")

			// A creation cut short: MANIFEST-000001 without CURRENT is no DB yet.
			filetest.Write(t, fs, filepath.Join(dir, "MANIFEST-000001"), []byte("cut short"))
			before := dirState(t, fs, dir)
			_, err = openReadOnly(fs, dir, Options{})
			require.ErrorIs(t, err, os.ErrNotExist)
			require.Equal(t, before, dirState(t, fs, dir))

			filetest.Write(t, fs, filepath.Join(dir, "000005.log"), nil)
			before = dirState(t, fs, dir)
			_, err = openReadOnly(fs, dir, Options{})
			require.ErrorIs(t, err, ErrCorruption, "DB files without CURRENT")
			require.NotErrorIs(t, err, os.ErrNotExist)
			require.Equal(t, before, dirState(t, fs, dir))

			file := filepath.Join(dir, "file")
			filetest.Write(t, fs, file, nil)
			_, err = openReadOnly(fs, file, Options{})
			require.ErrorIs(t, err, ErrInvalidArgument, "a file, not a directory")
		})
	}
}

// TestReadOnlyDamagedLog: damage in a log is handled as a read-write Open handles it (fatal with
// ParanoidChecks; otherwise skipped and reported), and the directory is still unchanged.
func TestReadOnlyDamagedLog(t *testing.T) {
	seed := testSeed(t)
	st := roStates(t, seed)[1] // killed: everything is in the log
	fs := memCopy(t, st)
	logs := namesOfKind(t, fs, "/db", filenames.Log)
	require.Len(t, logs, 1)
	logPath := filepath.Join("/db", logs[0])
	data := filetest.Read(t, fs, logPath)
	data[40<<10] ^= 0x55 // inside a record, in the second 32 KiB block
	filetest.Write(t, fs, logPath, data)
	before := dirState(t, fs, "/db")

	opts := st.opts
	opts.ParanoidChecks = true
	_, err := openReadOnly(fs, "/db", opts)
	require.ErrorIs(t, err, ErrCorruption)
	require.ErrorContains(t, err, logs[0])
	require.Equal(t, before, dirState(t, fs, "/db"))

	var damaged atomic.Int64
	opts = st.opts
	opts.EventListener = &EventListener{DamageSkipped: func(DamageInfo) { damaged.Add(1) }}
	d, err := openReadOnly(fs, "/db", opts)
	require.NoError(t, err)
	require.Positive(t, d.Metrics().Recovery.DamagedRecords)
	got := dump(t, d, nil)
	require.Less(t, len(workload.Diff(st.want, got)), len(st.want)/2, "only the writes of the damaged block may be lost")
	require.NoError(t, d.Close())
	require.Positive(t, damaged.Load(), "EventListener.DamageSkipped")
	require.Equal(t, before, dirState(t, fs, "/db"))
}

// TestReadOnlySeekCompaction: reads that would make a read-write DB compact a table (its
// allowed seeks run out: see TestSeekCompaction) change nothing in a read-only one.
func TestReadOnlySeekCompaction(t *testing.T) {
	fs := vfs.NewMem()
	w := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	val := bytes.Repeat([]byte("v"), 100)
	want := kv{}
	put := func(i int) {
		k := fmt.Sprintf("k%05d", i)
		require.NoError(t, w.Put([]byte(k), val, nil))
		want[k] = string(val)
	}
	for i := 0; i < 2000; i += 2 {
		put(i)
	}
	require.NoError(t, w.CompactRange(nil, nil))
	for i := 1; levelCounts(t, w)[1] == 0; i += 2 {
		require.Less(t, i, 2000, "no flush to level 1")
		put(i)
	}
	require.NoError(t, w.Close())
	before := dirState(t, fs, "/db")

	d, err := openReadOnly(fs, "/db", Options{WriteBufferSize: 64 << 10})
	require.NoError(t, err)
	levels := levelCounts(t, d)
	require.Positive(t, levels[1])
	d.mu.Lock()
	l1 := d.mu.vs.Current().Levels[1][0]
	d.mu.Unlock()
	var lo, hi int
	_, err = fmt.Sscanf(string(l1.SmallestUser()), "k%05d", &lo)
	require.NoError(t, err)
	_, err = fmt.Sscanf(string(l1.LargestUser()), "k%05d", &hi)
	require.NoError(t, err)
	first := (lo + 1) &^ 1
	for i := range 1000 {
		k := fmt.Sprintf("k%05d", first+2*(i%max(1, (hi-first)/2+1)))
		v, err := d.Get([]byte(k), nil)
		require.NoError(t, err, k)
		require.Equal(t, val, v)
	}
	require.LessOrEqual(t, l1.AllowedSeeks.Load(), int64(0), "the reads used up the table's allowed seeks")
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, levels, levelCounts(t, d), "a read-only DB compacted")
	requireSame(t, want, dump(t, d, nil), "after the reads")
	require.NoError(t, d.Close())
	require.Equal(t, before, dirState(t, fs, "/db"))
}

// TestReadOnlyPermissions opens a DB whose directory and files the process may not write (a
// DB of another user, say): skipped as root, which may write anyway (TestReadOnlyWritesNothing
// proves nothing is attempted).
func TestReadOnlyPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes regardless of permissions")
	}
	seed := testSeed(t)
	st := roStates(t, seed)[0]
	fs, dir := vfs.NewOS(), t.TempDir()
	copyDir(t, st.fs, "/db", fs, dir)
	names, err := fs.List(dir)
	require.NoError(t, err)
	for _, n := range names {
		require.NoError(t, os.Chmod(filepath.Join(dir, n), 0o444))
	}
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	before := dirState(t, fs, dir)

	_, err = Open(dir, &Options{})
	require.Error(t, err, "a read-write Open of a directory it may not write")
	d, err := openReadOnly(fs, dir, st.opts)
	require.NoError(t, err)
	requireReadOnlyReads(t, d, st.want, seed)
	require.NoError(t, d.Close())
	require.Equal(t, before, dirState(t, fs, dir))
}
