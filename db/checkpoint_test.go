package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

// The Checkpoint tests. The DBs live on a MemFS (the OS filesystem where links are checked by
// inode, and in one run of the concurrent writers), behind vfs.WithFaults with a switchInjector,
// so that a test arms faults, crash states, a cancellation or a blocked flush only while it
// needs them, and only for the paths it names.

// switchInjector runs the function set last (nil: none) for every operation.
type switchInjector struct {
	f atomic.Pointer[func(op vfs.Op, path string) error]
}

func (s *switchInjector) MaybeError(op vfs.Op, path string) error {
	if f := s.f.Load(); f != nil {
		return (*f)(op, path)
	}
	return nil
}

// set makes f the function run for every operation; nil runs none.
func (s *switchInjector) set(f func(op vfs.Op, path string) error) {
	if f == nil {
		s.f.Store(nil)
		return
	}
	s.f.Store(&f)
}

// under returns f for the operations on root and the paths below it, and nil for the others.
func under(root string, f func(op vfs.Op, path string) error) func(op vfs.Op, path string) error {
	return func(op vfs.Op, path string) error {
		if path == root || strings.HasPrefix(path, root+"/") {
			return f(op, path)
		}
		return nil
	}
}

// noLinkFS hides the Link method of the FS it holds: a filesystem without hard links.
type noLinkFS struct{ vfs.FS }

// openAt opens the DB in dir on fs with opts.
func openAt(t testing.TB, fs vfs.FS, dir string, opts *Options) *DB {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.FS = fs
	d, err := Open(dir, &o)
	require.NoError(t, err, "open %s", dir)
	return d
}

// copyDump opens the checkpoint in dir on fs (with ParanoidChecks, as a restore would) and
// returns everything it holds.
func copyDump(t testing.TB, fs vfs.FS, dir string) kv {
	t.Helper()
	o := relOpts()
	o.ParanoidChecks = true
	c := openAt(t, fs, dir, o)
	got := dump(t, c, nil)
	require.NoError(t, c.Close())
	return got
}

// requireCopy requires the checkpoint in dir on fs to hold exactly want.
func requireCopy(t testing.TB, fs vfs.FS, dir string, want kv, what string) {
	t.Helper()
	requireSame(t, want, copyDump(t, fs, dir), "%s: the checkpoint in %s", what, dir)
}

// requireGone requires that nothing is at path.
func requireGone(t testing.TB, fs vfs.FS, path string, what string) {
	t.Helper()
	_, err := fs.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "%s: %s should not exist", what, path)
}

// countTables returns the number of tables in d's current Version.
func countTables(d *DB) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, files := range d.mu.vs.Current().Levels {
		n += len(files)
	}
	return n
}

// waitIdle waits until no flush or compaction is running or due, so that the tree stays as it
// is while nothing is written or read.
func waitIdle(d *DB) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.mu.bgErr == nil && (d.mu.imm != nil || d.mu.compacting || d.needsCompactionLocked()) {
		d.mu.bgCond.Wait()
	}
}

// fillLevels writes a DB with data in tables at level 0 and deeper, deletions and overwrites
// among them, and in the memtable, and returns the model of its contents.
func fillLevels(t testing.TB, d *DB, seed uint64) (kv, *workload.Gen) {
	t.Helper()
	g, fill, churn := fillAndChurn(seed, 800)
	want := kv{}
	for _, op := range fill {
		require.NoError(t, applyOp(d, op))
	}
	want.Apply(fill...)
	require.NoError(t, d.CompactRange(nil, nil)) // below level 0
	half := len(churn) / 2
	for _, op := range churn[:half] {
		require.NoError(t, applyOp(d, op))
	}
	want.Apply(churn[:half]...)
	require.NoError(t, d.CompactRange([]byte("~none"), []byte("~none"))) // flushes to a table
	for _, op := range churn[half:] {
		require.NoError(t, applyOp(d, op))
	}
	want.Apply(churn[half:]...)
	waitIdle(d)
	return want, g
}

// A checkpoint of a DB with data in every place (tables at level 0 and deeper, an immutable
// memtable whose flush is held up, the memtable, deletions, a snapshot open) holds exactly the
// DB's contents; it links the tables; the source's snapshot is untouched; and the copy stays
// whole while the source goes on writing and compacting away the tables it linked.
func TestCheckpointEveryPlace(t *testing.T) {
	mem := vfs.NewMem()
	sw := &switchInjector{}
	d := openMem(t, vfs.WithFaults(mem, sw), relOpts())
	want, g := fillLevels(t, d, testSeed(t))
	snap := d.NewSnapshot()
	atSnap := dump(t, d, nil)
	requireSame(t, want, atSnap, "the DB")

	// Hold up table creation in /db, then write until the memtable is retired: its flush waits.
	gate := make(chan struct{})
	sw.set(func(op vfs.Op, path string) error {
		if op == vfs.OpCreate && filepath.Dir(path) == "/db" && strings.HasSuffix(path, ".ldb") {
			<-gate
		}
		return nil
	})
	defer func() {
		sw.set(nil)
		select {
		case <-gate:
		default:
			close(gate)
		}
	}()
	hasImm := func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.mu.imm != nil
	}
	for !hasImm() {
		op := g.Next()
		require.NoError(t, applyOp(d, op))
		want.Apply(op)
	}
	for i := range 20 { // a few writes to the new memtable, far from filling it
		op := workload.Op{Kind: workload.Put, Entries: []workload.Entry{{Key: fmt.Sprintf("k%05d", i*7), Value: "new"}}}
		if i%4 == 3 {
			op = workload.Op{Kind: workload.Delete, Entries: []workload.Entry{{Key: fmt.Sprintf("k%05d", i*11), Delete: true}}}
		}
		require.NoError(t, applyOp(d, op))
		want.Apply(op)
	}
	require.True(t, hasImm(), "the immutable memtable is still being flushed")
	tables := countTables(d)
	require.Greater(t, levelCounts(t, d)[0], 0)

	links := vfs.NewCounter(vfs.OpLink)
	sw.set(func(op vfs.Op, path string) error {
		if op == vfs.OpCreate && filepath.Dir(path) == "/db" && strings.HasSuffix(path, ".ldb") {
			<-gate
		}
		return links.MaybeError(op, path)
	})
	require.NoError(t, d.Checkpoint("/ckpt"))
	require.EqualValues(t, tables, links.Count(), "every table is linked")
	require.Len(t, namesOfKind(t, mem, "/ckpt", filenames.Table), tables+2, "two more from the memtables")
	require.Empty(t, namesOfKind(t, mem, "/ckpt", filenames.Log), "no log")
	close(gate)
	sw.set(nil)

	requireSame(t, atSnap, dump(t, d, &ReadOptions{Snapshot: snap}), "the source's snapshot after the checkpoint")
	snap.Release()

	// The source goes on: more writes, and a compaction that deletes every table it had.
	for _, op := range g.Take(300) {
		require.NoError(t, applyOp(d, op))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	requireCopy(t, mem, "/ckpt", want, "after the source moved on")
	require.NoError(t, d.Close())
	requireCopy(t, mem.CrashClone(), "/ckpt", want, "after a crash")
}

// A checkpoint while four goroutines write continuously (and another checkpoint runs) holds
// every write acknowledged before the call, and for each writer a prefix of its writes, each
// batch whole.
func TestCheckpointConcurrentWriters(t *testing.T) {
	for _, name := range []string{"mem", "os"} {
		t.Run(name, func(t *testing.T) {
			var fs vfs.FS = vfs.NewMem()
			root := "/"
			if name == "os" {
				fs, root = vfs.NewOS(), t.TempDir()
			}
			checkpointWhileWriting(t, fs, root, sized(6, 3, 20))
		})
	}
}

func checkpointWhileWriting(t *testing.T, fs vfs.FS, root string, checkpoints int) {
	const writers = 4
	d := openAt(t, fs, filepath.Join(root, "db"), relOpts())
	var (
		acked [writers]atomic.Int64 // writes that returned
		stop  atomic.Bool
		wg    sync.WaitGroup
		errs  = make(chan error, writers)
	)
	value := strings.Repeat("v", 100)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				var b Batch
				b.Put([]byte(fmt.Sprintf("w%d/%08d/a", w, n)), []byte(value))
				b.Put([]byte(fmt.Sprintf("w%d/%08d/b", w, n)), []byte(value))
				if err := d.Write(&b, nil); err != nil {
					errs <- err
					return
				}
				acked[w].Store(int64(n + 1))
			}
		}()
	}
	type taken struct {
		dir           string
		before, after [writers]int64
	}
	var all []taken
	for i := range checkpoints {
		time.Sleep(10 * time.Millisecond)
		// Two checkpoints at once, into two directories.
		var before, after [writers]int64
		for w := range writers {
			before[w] = acked[w].Load()
		}
		dirs := []string{filepath.Join(root, "ckpt"+strconv.Itoa(i)+"a"), filepath.Join(root, "ckpt"+strconv.Itoa(i)+"b")}
		cerrs := make(chan error, len(dirs))
		for _, dir := range dirs {
			go func() { cerrs <- d.Checkpoint(dir) }()
		}
		for range dirs {
			require.NoError(t, <-cerrs)
		}
		for w := range writers {
			after[w] = acked[w].Load()
		}
		for _, dir := range dirs {
			all = append(all, taken{dir: dir, before: before, after: after})
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, d.Close())

	for _, c := range all {
		got := copyDump(t, fs, c.dir)
		var seen [writers]map[int]int // write number -> halves present
		for w := range seen {
			seen[w] = map[int]int{}
		}
		for k := range got {
			var w, n int
			var half string
			_, err := fmt.Sscanf(strings.ReplaceAll(k, "/", " "), "w%d %d %s", &w, &n, &half)
			require.NoError(t, err, "key %q", k)
			seen[w][n]++
		}
		for w := range writers {
			m := len(seen[w])
			for n := range m {
				require.Equal(t, 2, seen[w][n], "%s: writer %d: write %d of its %d must be there whole", c.dir, w, n, m)
			}
			require.GreaterOrEqual(t, int64(m), c.before[w], "%s: writer %d: every write acknowledged before the call", c.dir, w)
			require.LessOrEqual(t, int64(m), c.after[w]+1, "%s: writer %d: no write started after the call returned", c.dir, w)
		}
		t.Logf("%s: acknowledged before %v, after %v", c.dir, c.before, c.after)
	}
}

// Tables are hard links of the source's on the OS filesystem (the same inode) and on MemFS,
// and copies where the filesystem has no links.
func TestCheckpointLinksTables(t *testing.T) {
	t.Run("os", func(t *testing.T) {
		root := t.TempDir()
		d := openAt(t, vfs.NewOS(), filepath.Join(root, "db"), relOpts())
		want, _ := fillLevels(t, d, testSeed(t))
		tables := countTables(d)
		require.NoError(t, d.Checkpoint(filepath.Join(root, "ckpt")))
		requireSameFiles(t, root, tables, true)
		require.NoError(t, d.Close())
		requireCopy(t, vfs.NewOS(), filepath.Join(root, "ckpt"), want, "os")
	})
	t.Run("os-no-link", func(t *testing.T) {
		root := t.TempDir()
		fs := noLinkFS{vfs.NewOS()}
		d := openAt(t, fs, filepath.Join(root, "db"), relOpts())
		want, _ := fillLevels(t, d, testSeed(t))
		tables := countTables(d)
		require.NoError(t, d.Checkpoint(filepath.Join(root, "ckpt")))
		requireSameFiles(t, root, tables, false)
		require.NoError(t, d.Close())
		require.NoError(t, destroy(fs, filepath.Join(root, "db")))
		requireCopy(t, fs, filepath.Join(root, "ckpt"), want, "a copy outlives its source")
	})
	for _, name := range []string{"mem", "mem-no-link"} {
		t.Run(name, func(t *testing.T) {
			mem := vfs.NewMem()
			var base vfs.FS = mem
			if name == "mem-no-link" {
				base = noLinkFS{mem}
			}
			sw := &switchInjector{}
			d := openMem(t, vfs.WithFaults(base, sw), relOpts())
			want, _ := fillLevels(t, d, testSeed(t))
			tables := countTables(d)
			links, creates := vfs.NewCounter(vfs.OpLink), vfs.NewCounter(vfs.OpCreate)
			sw.set(under("/ckpt", func(op vfs.Op, path string) error {
				links.MaybeError(op, path)
				if strings.HasSuffix(path, ".ldb") {
					creates.MaybeError(op, path)
				}
				return nil
			}))
			require.NoError(t, d.Checkpoint("/ckpt"))
			sw.set(nil)
			if name == "mem" {
				require.EqualValues(t, tables, links.Count(), "links")
				require.EqualValues(t, 1, creates.Count(), "one table created, from the memtable")
			} else {
				require.Zero(t, links.Count(), "no links")
				require.EqualValues(t, tables+1, creates.Count(), "tables copied")
			}
			require.NoError(t, d.Close())
			require.NoError(t, destroy(mem, "/db"))
			requireCopy(t, mem, "/ckpt", want, name)
		})
	}
}

// requireSameFiles requires root/ckpt to hold the tables of root/db, tables of them, and one
// more; they are the same files (linked) or not (copied), with the same bytes.
func requireSameFiles(t *testing.T, root string, tables int, linked bool) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root, "ckpt", "*.ldb"))
	require.NoError(t, err)
	require.Len(t, names, tables+1, "the tables and one from the memtable")
	shared := 0
	for _, n := range names {
		src := filepath.Join(root, "db", filepath.Base(n))
		sfi, err := os.Stat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // the memtable's
		}
		require.NoError(t, err)
		cfi, err := os.Stat(n)
		require.NoError(t, err)
		require.Equal(t, linked, os.SameFile(sfi, cfi), "%s linked", n)
		a, err := os.ReadFile(src)
		require.NoError(t, err)
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		require.True(t, string(a) == string(b), "%s has the source's bytes", n)
		shared++
	}
	require.Equal(t, tables, shared)
}

// A DB opened read-only can be checkpointed: the copy holds what it reads (its tables, and the
// logs it replayed into memtables), and nothing in its directory changes.
func TestCheckpointReadOnly(t *testing.T) {
	mem := vfs.NewMem()
	d := openMem(t, mem, relOpts())
	want, _ := fillLevels(t, d, testSeed(t)) // its last writes stay in the log
	require.NoError(t, d.Close())
	before := dirState(t, mem, "/db")

	o := relOpts()
	o.ReadOnly = true
	sw := &switchInjector{}
	d = openMem(t, vfs.WithFaults(mem, sw), o)
	changes := vfs.NewCounter(checkpointFaultOps...)
	sw.set(under("/db", changes.MaybeError))
	require.NoError(t, d.Checkpoint("/ckpt"))
	sw.set(nil)
	require.Zero(t, changes.Count(), "nothing written in the source's directory")
	require.NoError(t, d.Close())
	require.Equal(t, before, dirState(t, mem, "/db"))
	requireCopy(t, mem, "/ckpt", want, "a read-only DB's")
}

// A Close while a checkpoint runs stops it with ErrClosed, leaving nothing behind.
func TestCheckpointClose(t *testing.T) {
	mem := vfs.NewMem()
	sw := &switchInjector{}
	d := openMem(t, vfs.WithFaults(mem, sw), relOpts())
	fillLevels(t, d, testSeed(t))
	var once sync.Once
	sw.set(under("/ckpt", func(op vfs.Op, _ string) error {
		if op == vfs.OpLink {
			once.Do(func() { require.NoError(t, d.Close()) })
		}
		return nil
	}))
	require.ErrorIs(t, d.Checkpoint("/ckpt"), ErrClosed)
	sw.set(nil)
	requireGone(t, mem, "/ckpt", "closed during the checkpoint")
	d = openMem(t, mem, relOpts())
	require.NoError(t, d.Close())
}

// The target must be new or an empty directory; a closed DB cannot be checkpointed.
func TestCheckpointBadTarget(t *testing.T) {
	mem := vfs.NewMem()
	d := openMem(t, mem, relOpts())
	require.NoError(t, d.Put([]byte("k"), []byte("v"), nil))

	require.NoError(t, mem.MkdirAll("/full", 0o755))
	require.NoError(t, mem.MkdirAll("/full/x", 0o755))
	err := d.Checkpoint("/full")
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorContains(t, err, "/full")
	names, lerr := mem.List("/full")
	require.NoError(t, lerr)
	require.Equal(t, []string{"x"}, names, "left as it was")

	f, ferr := mem.Create("/file")
	require.NoError(t, ferr)
	require.NoError(t, f.Close())
	require.ErrorIs(t, d.Checkpoint("/file"), ErrInvalidArgument)
	require.ErrorIs(t, d.Checkpoint(""), ErrInvalidArgument)
	require.ErrorIs(t, d.Checkpoint("/db"), ErrInvalidArgument, "the DB's own directory is not empty")

	require.NoError(t, mem.MkdirAll("/empty", 0o755))
	require.NoError(t, d.Checkpoint("/empty"), "an empty directory will do")
	requireCopy(t, mem, "/empty", kv{"k": "v"}, "into an empty directory")

	require.NoError(t, d.Close())
	require.ErrorIs(t, d.Checkpoint("/after-close"), ErrClosed)
	requireGone(t, mem, "/after-close", "a closed DB")
}

// checkpointFaultOps are the operations the fault sweep fails: those that write or create.
var checkpointFaultOps = []vfs.Op{vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpLink, vfs.OpSyncDir,
	vfs.OpMkdir, vfs.OpRename}

// A failure of each operation of a checkpoint in turn (disk full): the error is returned and
// nothing is left in the target (a directory it made is removed, an existing one left empty),
// except that a failed link falls back to copying and succeeds. The source DB still works and
// reopens with its data.
func TestCheckpointFaults(t *testing.T) {
	cases := []struct {
		name           string
		link, existing bool
	}{
		{"link", true, false},
		{"copy", false, false},
		{"link-existing-dir", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := vfs.NewMem()
			var base vfs.FS = mem
			if !c.link {
				base = noLinkFS{mem}
			}
			sw := &switchInjector{}
			fs := vfs.WithFaults(base, sw)
			d := openMem(t, fs, relOpts())
			want, _ := fillLevels(t, d, testSeed(t))
			require.NoError(t, mem.MkdirAll("/ckpts", 0o755))
			target := func(k int) (root, dir string) {
				root = fmt.Sprintf("/ckpts/%d", k)
				dir = root + "/copy" // two directories to make
				if c.existing {
					require.NoError(t, mem.MkdirAll(dir, 0o755))
				}
				return root, dir
			}

			counter := vfs.NewCounter(checkpointFaultOps...)
			root, dir := target(0)
			sw.set(under(root, counter.MaybeError))
			require.NoError(t, d.Checkpoint(dir))
			sw.set(nil)
			requireCopy(t, mem, dir, want, "without faults")
			n := int(counter.Count())
			t.Logf("%d operations to fail", n)

			for k := 1; k <= n; k++ {
				root, dir := target(k)
				nth := vfs.OnNth(int64(k), syscall.ENOSPC, checkpointFaultOps...)
				var failed atomic.Int32
				failed.Store(-1)
				sw.set(under(root, func(op vfs.Op, path string) error {
					err := nth.MaybeError(op, path)
					if err != nil {
						failed.Store(int32(op))
					}
					return err
				}))
				err := d.Checkpoint(dir)
				sw.set(nil)
				require.True(t, nth.Fired(), "operation %d", k)
				what := fmt.Sprintf("operation %d (%v) failed", k, vfs.Op(failed.Load()))
				if vfs.Op(failed.Load()) == vfs.OpLink {
					require.NoError(t, err, "%s: a failed link falls back to a copy", what)
					requireCopy(t, mem, dir, want, what)
					continue
				}
				require.ErrorIs(t, err, syscall.ENOSPC, what)
				if c.existing {
					names, lerr := mem.List(dir)
					require.NoError(t, lerr)
					require.Empty(t, names, "%s: the directory is left empty", what)
				} else {
					requireGone(t, mem, root, what)
				}
			}

			require.NoError(t, d.Put([]byte("after"), []byte("faults"), nil))
			want["after"] = "faults"
			requireSame(t, want, dump(t, d, nil), "the source after the faults")
			require.NoError(t, d.Close())
			d = openMem(t, mem, relOpts())
			requireSame(t, want, dump(t, d, nil), "the source reopened")
			require.NoError(t, d.Close())
		})
	}
}

// A power loss at any point of a checkpoint leaves the target without CURRENT, or with a
// complete copy; and one right after Checkpoint returns leaves the complete copy.
func TestCheckpointCrashPoints(t *testing.T) {
	for _, link := range []bool{true, false} {
		t.Run(fmt.Sprintf("link=%v", link), func(t *testing.T) {
			mem := vfs.NewMem()
			var base vfs.FS = mem
			if !link {
				base = noLinkFS{mem}
			}
			sw := &switchInjector{}
			d := openMem(t, vfs.WithFaults(base, sw), relOpts())
			want, _ := fillLevels(t, d, testSeed(t))
			var (
				mu     sync.Mutex
				states []*vfs.MemFS
				ops    []string
			)
			sw.set(under("/ckpt", func(op vfs.Op, path string) error {
				mu.Lock()
				states = append(states, mem.CrashClone())
				ops = append(ops, fmt.Sprintf("before %v %s", op, path))
				mu.Unlock()
				return nil
			}))
			require.NoError(t, d.Checkpoint("/ckpt"))
			sw.set(nil)
			requireCopy(t, mem.CrashClone(), "/ckpt", want, "a crash right after Checkpoint returned")
			require.NoError(t, d.Close())

			complete := 0
			for i, st := range states {
				if _, err := st.Stat("/ckpt/" + filenames.CurrentName); errors.Is(err, os.ErrNotExist) {
					continue
				}
				requireCopy(t, st, "/ckpt", want, ops[i])
				complete++
			}
			t.Logf("%d crash states, %d with CURRENT", len(states), complete)
		})
	}
}

// A cancelled context stops a checkpoint at any point with an error wrapping context.Canceled,
// leaving nothing behind; or, cancelled once the MANIFEST is being written, it completes.
func TestCheckpointCancel(t *testing.T) {
	mem := vfs.NewMem()
	sw := &switchInjector{}
	d := openMem(t, vfs.WithFaults(mem, sw), relOpts())
	want, _ := fillLevels(t, d, testSeed(t))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, d.CheckpointContext(ctx, "/ckpt/0"), context.Canceled)
	requireGone(t, mem, "/ckpt/0", "cancelled before the call")

	counter := vfs.NewCounter()
	sw.set(under("/ckpt/1", counter.MaybeError))
	require.NoError(t, d.Checkpoint("/ckpt/1"))
	sw.set(nil)
	n := int(counter.Count())
	cancelled := 0
	for k := 1; k <= n; k++ {
		dir := fmt.Sprintf("/ckpt/c%d", k)
		ctx, cancel := context.WithCancel(context.Background())
		var seen atomic.Int64
		sw.set(under(dir, func(vfs.Op, string) error {
			if seen.Add(1) == int64(k) {
				cancel()
			}
			return nil
		}))
		err := d.CheckpointContext(ctx, dir)
		sw.set(nil)
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.Canceled, "cancelled at operation %d", k)
			requireGone(t, mem, dir, fmt.Sprintf("cancelled at operation %d", k))
			cancelled++
			continue
		}
		requireCopy(t, mem, dir, want, fmt.Sprintf("cancelled at operation %d, after the last check", k))
	}
	require.Positive(t, cancelled)
	t.Logf("%d operations, %d cancelled", n, cancelled)
	require.NoError(t, d.Close())
}
