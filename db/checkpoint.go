package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// Checkpoints.
//
// A checkpoint is taken at one instant, under the DB's mutex: the current Version and the
// memtables (the active one and the immutable one being flushed, if any) get a reference each,
// and the newest published sequence number S is noted. Everything written up to S is in those
// three places, and nothing else is: a write group is applied to the memtable before its
// sequence numbers are published, and a memtable's table enters a Version in the same critical
// section that retires the memtable. The references keep the tables from being deleted and the
// memtables from being recycled until the checkpoint is done; writes, flushes and compactions go
// on meanwhile.
//
// The copy is then built without the mutex: each table of the Version is hard-linked into the
// new directory (tables never change once written), or copied where the filesystem cannot link;
// each memtable's entries up to S are written to a new level-0 table, numbered above every table
// of the Version (the memtables hold the newest writes), the older memtable first; and a new
// MANIFEST holds one edit: the Version's snapshot edit (compaction.VersionSet.SnapshotEdit) with
// the new tables, log number 0 (the copy has no log), the next file number and last sequence S.
// The copy takes no log from the source: the current log's end moves while a write group is
// being appended to it without the mutex, so no length read under the mutex is known to end on
// a whole record, while the memtables give exactly the writes up to S.

// Checkpoint writes a consistent copy of the DB into the directory dir, while reads and writes
// go on; it is CheckpointContext with context.Background(). The copy is a DB of its own, which
// Open (and C++ leveldb 1.23) opens like any other; it shares nothing with the source but the
// disk blocks of hard-linked tables, which neither side ever modifies.
//
// What the copy holds. Checkpoint takes the DB's state at one point near its start: the copy
// holds exactly the writes that had been applied at that point. So every write that returned
// before Checkpoint was called is in it; no batch is in it by halves; and of the writes that
// run concurrently with the call, it holds a prefix in commit order: if a write is in the copy,
// so is every write committed before it. Writes that start after Checkpoint returns are not in
// it. The copy reads like the source did at that point, as if through a snapshot taken then;
// snapshots open on the source do not carry over, and older versions of a key the source still
// kept for them may or may not be in the copy.
//
// dir must not exist (it is created, with any missing parents, and their entries are synced) or
// must be an empty directory; anything else gives an error matching ErrInvalidArgument that
// names it. dir is on the DB's filesystem (Options.FS).
//
// The tables are hard-linked into dir when the filesystem supports it (vfs.Linker), so the copy
// takes little space and time; a link that fails for any reason but an existing name (another
// filesystem, or one without links) makes Checkpoint copy the tables instead. The memtables'
// writes go to new tables in dir, so the copy has no log. Checkpoint writes nothing in the
// source's directory (but lines of its LOG), and so also works on a DB opened with
// Options.ReadOnly.
//
// Durability. When Checkpoint returns nil, the copy is durable: every file it wrote is synced,
// then dir (the table entries), then the MANIFEST is written and synced, dir is synced again,
// and CURRENT is replaced atomically (a synced temporary file renamed into place, then dir
// synced). CURRENT comes last, so after a crash during Checkpoint dir either holds a complete
// copy or no CURRENT, which is no usable copy: remove dir and checkpoint again.
//
// Errors. On any failure Checkpoint removes what it created in dir, and dir itself (and its
// parents) if it created them, and returns the error, which names the file concerned. The
// source DB is never affected. A closed DB gives ErrClosed, and so does a Close while
// Checkpoint runs (it stops before its next file).
//
// Cost. The DB's mutex is held only to take the references. Until Checkpoint returns, the
// tables it copies are not deleted from the source (a compaction meanwhile leaves them behind
// until then), and its memtables are not recycled. Writing the memtables' tables costs about
// what a flush of them costs. Checkpoint may run concurrently with any other call, other
// Checkpoints (into other directories) included.
func (d *DB) Checkpoint(dir string) error {
	return d.CheckpointContext(context.Background(), dir)
}

// CheckpointContext is Checkpoint with a context. It checks ctx before each file and every
// MiB of a table it copies or writes; once ctx is done it stops, removes what it created (as on
// any error) and returns an error wrapping ctx.Err(). Once it has begun writing the MANIFEST it
// completes.
func (d *DB) CheckpointContext(ctx context.Context, dir string) (err error) {
	if dir == "" {
		return dberr.InvalidArgf("checkpoint: the directory path is empty")
	}
	if d.closed.Load() {
		return ErrClosed
	}
	c := &checkpoint{d: d, ctx: ctx, fs: d.fs, dir: filepath.Clean(dir)}
	if err := c.check(); err != nil {
		return err
	}
	if err := c.makeDir(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			d.info.Printf("checkpoint %s failed: %v", c.dir, err)
			err = c.remove(err)
		}
	}()
	if err := c.pin(); err != nil {
		return err
	}
	defer c.unpin()
	if err := c.run(); err != nil {
		return err
	}
	d.info.Printf("checkpoint %s: %d tables linked, %d copied, %d written from memtables; last sequence %d",
		c.dir, c.linked, c.copied, c.written, c.lastSeq)
	return nil
}

// checkpoint is one Checkpoint call.
type checkpoint struct {
	d   *DB
	ctx context.Context
	fs  vfs.FS
	dir string

	madeDirs []string // directories MkdirAll made, dir first, then its new parents
	created  []string // files created in dir, in order
	noLink   bool     // a link failed: copy the remaining tables
	buf      []byte   // copy buffer

	// Taken under d.mu by pin, released by unpin.
	version *compaction.Version
	mems    []*memtable.MemTable // the immutable memtable, if any, then the active one
	edit    *compaction.VersionEdit
	lastSeq keys.SeqNum
	nextNum uint64 // every number from here up is free in the copy

	linked, copied, written int
}

// checkpointCopyChunk is how much of a table a copy moves between two looks at the context.
const checkpointCopyChunk = 1 << 20

// check returns an error when the context is done or the DB closed.
func (c *checkpoint) check() error {
	if err := c.ctx.Err(); err != nil {
		return fmt.Errorf("strata: checkpoint %s: %w", c.dir, err)
	}
	if c.d.closed.Load() {
		return fmt.Errorf("%w: checkpoint %s: the DB was closed", ErrClosed, c.dir)
	}
	return nil
}

// makeDir makes sure dir is an empty directory: it creates it, and any missing parents, with
// their entries synced; or it checks that the existing dir is empty.
func (c *checkpoint) makeDir() error {
	fi, err := c.fs.Stat(c.dir)
	switch {
	case err == nil && !fi.IsDir():
		return dberr.InvalidArgf("checkpoint: %s exists and is not a directory", c.dir)
	case err == nil:
		names, err := c.fs.List(c.dir)
		if err != nil {
			return dberr.Wrap(err, "checkpoint %s", c.dir)
		}
		if len(names) > 0 {
			return dberr.InvalidArgf("checkpoint: %s is not empty (it holds %s)", c.dir,
				strings.Join(names[:min(len(names), 3)], ", "))
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return dberr.Wrap(err, "checkpoint %s", c.dir)
	}
	// The directories MkdirAll will make: dir, then each missing parent.
	for p := c.dir; ; {
		c.madeDirs = append(c.madeDirs, p)
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		if _, err := c.fs.Stat(parent); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			c.madeDirs = nil
			return dberr.Wrap(err, "checkpoint %s", c.dir)
		}
		p = parent
	}
	if err := c.fs.MkdirAll(c.dir, 0o755); err != nil {
		c.removeDirs()
		return dberr.Wrap(err, "checkpoint: create %s", c.dir)
	}
	for _, p := range c.madeDirs {
		if err := c.fs.SyncDir(filepath.Dir(p)); err != nil {
			c.removeDirs()
			return dberr.Wrap(err, "checkpoint: create %s: sync directory %s", c.dir, filepath.Dir(p))
		}
	}
	return nil
}

// pin takes the DB's state: references on the current Version and the memtables, the Version's
// snapshot edit, the last sequence number and the next file number.
func (c *checkpoint) pin() error {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.closing {
		return fmt.Errorf("%w: checkpoint %s", ErrClosed, c.dir)
	}
	vs := d.mu.vs
	c.version = vs.Current()
	c.version.Ref()
	c.edit = vs.SnapshotEdit()
	if imm := d.mu.imm; imm != nil {
		imm.Ref()
		c.mems = append(c.mems, imm)
	}
	if mem := d.mu.mem; mem != nil {
		mem.Ref()
		c.mems = append(c.mems, mem)
	}
	c.lastSeq = keys.SeqNum(d.lastSeq.Load())
	c.nextNum = vs.PeekFileNumber()
	return nil
}

// unpin drops pin's references.
func (c *checkpoint) unpin() {
	c.version.Unref()
	for _, m := range c.mems {
		c.d.releaseMem(m)
	}
}

// run builds the copy in dir, in the order that makes it durable (see Checkpoint).
func (c *checkpoint) run() error {
	for _, files := range c.version.Levels {
		for _, f := range files {
			if err := c.check(); err != nil {
				return err
			}
			if err := c.table(f); err != nil {
				return err
			}
		}
	}
	num := c.nextNum
	for _, m := range c.mems {
		if err := c.check(); err != nil {
			return err
		}
		meta, err := c.memTable(m, num)
		if err != nil {
			return err
		}
		if meta != nil {
			c.edit.AddFile(0, meta)
			c.written++
		}
		num++
	}
	if err := c.check(); err != nil {
		return err
	}
	// The tables' entries must be durable before a durable MANIFEST names them.
	if err := c.fs.SyncDir(c.dir); err != nil {
		return dberr.Wrap(err, "checkpoint: sync directory %s", c.dir)
	}
	c.edit.SetLogNum(0) // no log: every write is in a table
	c.edit.SetPrevLogNum(0)
	c.edit.SetNextFileNum(num + 1)
	c.edit.SetLastSeq(c.lastSeq)
	c.created = append(c.created, filenames.Path(c.dir, filenames.Manifest, num),
		filenames.Path(c.dir, filenames.Temp, num), filepath.Join(c.dir, filenames.CurrentName))
	if _, err := compaction.WriteManifest(c.fs, c.dir, num, c.edit); err != nil {
		return dberr.Wrap(err, "checkpoint")
	}
	return nil
}

// table links table f of the source into dir, or copies it.
func (c *checkpoint) table(f *compaction.FileMetadata) error {
	src := filenames.Path(c.d.dir, filenames.Table, f.Num)
	if _, err := c.fs.Stat(src); errors.Is(err, os.ErrNotExist) {
		if legacy := filenames.LegacyTablePath(c.d.dir, f.Num); fileExists(c.fs, legacy) {
			src = legacy
		}
	}
	dst := filepath.Join(c.dir, filepath.Base(src))
	if !c.noLink {
		err := vfs.Link(c.fs, src, dst)
		switch {
		case err == nil:
			c.created = append(c.created, dst)
			c.linked++
			return nil
		case errors.Is(err, os.ErrExist), errors.Is(err, os.ErrNotExist):
			return dberr.Wrap(err, "checkpoint: link table %s", src)
		}
		c.noLink = true
		c.d.info.Printf("checkpoint %s: cannot link tables (%v); copying them", c.dir, err)
	}
	if err := c.copyTable(src, dst, f.Size); err != nil {
		return err
	}
	c.copied++
	return nil
}

// fileExists reports whether Stat finds name.
func fileExists(fs vfs.FS, name string) bool {
	_, err := fs.Stat(name)
	return err == nil
}

// copyTable copies the table at src, size bytes long, to the new file dst and syncs it.
func (c *checkpoint) copyTable(src, dst string, size uint64) (err error) {
	in, err := c.fs.Open(src)
	if err != nil {
		return dberr.Wrap(err, "checkpoint: open table %s", src)
	}
	defer in.Close()
	out, err := c.fs.Create(dst)
	if err != nil {
		return dberr.Wrap(err, "checkpoint: create %s", dst)
	}
	c.created = append(c.created, dst)
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = dberr.Wrap(cerr, "checkpoint: close %s", dst)
		}
	}()
	if c.buf == nil {
		c.buf = make([]byte, checkpointCopyChunk)
	}
	var n uint64
	for {
		if err := c.check(); err != nil {
			return err
		}
		k, rerr := io.ReadFull(in, c.buf)
		if k > 0 {
			if _, err := out.Write(c.buf[:k]); err != nil {
				return dberr.Wrap(err, "checkpoint: write %s", dst)
			}
			n += uint64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return dberr.Wrap(rerr, "checkpoint: read table %s", src)
		}
	}
	if n != size {
		return dberr.Wrap(dberr.Corruptf(src, dberr.NoOffset, "%d bytes long, but the MANIFEST says %d", n, size), "checkpoint")
	}
	if err := out.Sync(); err != nil {
		return dberr.Wrap(err, "checkpoint: sync %s", dst)
	}
	return nil
}

// memTable writes the entries of m up to the checkpoint's sequence number to table num in dir,
// leaving out those a newer one of the same key shadows (as a flush does), and syncs it. It
// returns the table's metadata, or nil when no entry qualifies (then no file is made).
func (c *checkpoint) memTable(m *memtable.MemTable, num uint64) (meta *compaction.FileMetadata, err error) {
	it := m.NewIterator()
	defer it.Close()
	dropper := compaction.NewFlushDropper(c.d.icmp, c.lastSeq)
	path := filenames.Path(c.dir, filenames.Table, num)
	var (
		f vfs.File
		w *sstable.Writer
	)
	defer func() {
		if f == nil {
			return
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			meta, err = nil, dberr.Wrap(cerr, "checkpoint: close %s", path)
		}
	}()
	checked := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		key := it.Key()
		if seq, _ := keys.SplitTrailer(keys.TrailerOf(key)); seq > c.lastSeq {
			continue // written after the checkpoint's instant
		}
		if dropper.Drop(key) {
			continue
		}
		if w == nil {
			if f, err = c.fs.Create(path); err != nil {
				return nil, dberr.Wrap(err, "checkpoint: create %s", path)
			}
			c.created = append(c.created, path)
			w = sstable.NewWriter(f, c.d.tableWriterOptions())
		}
		if err := w.Add(key, it.Value()); err != nil {
			return nil, dberr.Wrap(err, "checkpoint: write %s", path)
		}
		if size := w.EstimatedSize(); size-checked >= checkpointCopyChunk {
			checked = size
			if err := c.check(); err != nil {
				return nil, err
			}
		}
	}
	if w == nil {
		return nil, nil
	}
	tm, err := w.Finish()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return nil, dberr.Wrap(err, "checkpoint: write %s", path)
	}
	return &compaction.FileMetadata{Num: num, Size: tm.Size, Smallest: tm.Smallest, Largest: tm.Largest}, nil
}

// remove undoes a failed checkpoint: it removes the files it created, newest first, and the
// directories it made, syncing what remains so that a crash does not bring them back, and
// returns err, noting a failure to remove.
func (c *checkpoint) remove(err error) error {
	var failed []string
	for i := len(c.created) - 1; i >= 0; i-- {
		if rerr := c.fs.Remove(c.created[i]); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			failed = append(failed, rerr.Error())
		}
	}
	if len(c.madeDirs) == 0 {
		if len(c.created) > 0 {
			_ = c.fs.SyncDir(c.dir)
		}
	} else if rerr := c.removeDirs(); rerr != nil {
		failed = append(failed, rerr.Error())
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w (and removing what it had made failed: %s)", err, strings.Join(failed, "; "))
	}
	return err
}

// removeDirs removes the directories makeDir made, dir first, and syncs the parent of the last.
func (c *checkpoint) removeDirs() error {
	if len(c.madeDirs) == 0 {
		return nil
	}
	for _, p := range c.madeDirs {
		if err := c.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	_ = c.fs.SyncDir(filepath.Dir(c.madeDirs[len(c.madeDirs)-1]))
	return nil
}
