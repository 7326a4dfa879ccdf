package compaction

import (
	"fmt"
	"slices"
	"sync"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// VersionSet is the DB's level tree over time: the current Version, every older Version a
// reader still holds, the counters persisted in the MANIFEST (next file number, log numbers,
// last sequence number), and the open MANIFEST itself.
//
// Concurrency. The DB's mutex guards the VersionSet: every method requires it held unless its
// comment says otherwise. LogAndApply releases it while it waits its turn and while it writes,
// and holds an internal mutex (logMu) across the write, so LogAndApply calls run one at a time
// in arrival order while other methods carry on. Lock order: logMu, then the DB's mutex.
// Version.Unref and AddLiveFiles use a third, internal mutex for the list of live versions.
type VersionSet struct {
	dir  string
	fs   vfs.FS
	icmp *keys.InternalComparator
	opts Options // normalized

	// Guarded by the DB's mutex.
	current         *Version
	nextFileNum     uint64
	manifestNum     uint64 // the MANIFEST that CURRENT names
	nextManifestNum uint64 // reserved for the next new MANIFEST; 0: take a new number then
	logNum          uint64
	prevLogNum      uint64
	lastSeq         keys.SeqNum
	compactPointers [NumLevels][]byte // internal keys; nil for none

	// logMu serializes LogAndApply and Close and guards the open MANIFEST.
	logMu        sync.Mutex
	manifestFile vfs.File    // nil: the next LogAndApply starts a new MANIFEST
	manifest     *wal.Writer // writes to manifestFile
	closed       bool

	live struct {
		sync.Mutex
		head Version // sentinel of a circular list of versions with refs > 0
	}
}

func newVersionSet(fs vfs.FS, dir string, icmp *keys.InternalComparator, opts *Options) *VersionSet {
	vs := &VersionSet{dir: dir, fs: fs, icmp: icmp, opts: normalizedOptions(opts)}
	vs.live.head.prev = &vs.live.head
	vs.live.head.next = &vs.live.head
	return vs
}

func (vs *VersionSet) logf(format string, args ...any) {
	if vs.opts.Logf != nil {
		vs.opts.Logf(format, args...)
	}
}

// appendVersion makes v current, referenced by the VersionSet, and links it into the list of
// live versions; the previous current Version loses the VersionSet's reference.
func (vs *VersionSet) appendVersion(v *Version) {
	vs.checkInvariants(v) // -tags invariants: panics on a broken tree (invariants_on.go)
	v.vs = vs
	v.opts = &vs.opts
	v.Ref()
	vs.live.Lock()
	h := &vs.live.head
	v.prev, v.next = h.prev, h
	h.prev.next = v
	h.prev = v
	vs.live.Unlock()
	old := vs.current
	vs.current = v
	if old != nil {
		old.Unref()
	}
}

// unlinkVersion removes a Version whose last reference is gone from the live list.
func (vs *VersionSet) unlinkVersion(v *Version) {
	vs.live.Lock()
	defer vs.live.Unlock()
	if v.prev == nil {
		return
	}
	v.prev.next = v.next
	v.next.prev = v.prev
	v.prev, v.next = nil, nil
}

// Current returns the current Version. The caller must Ref it (with the DB's mutex still held)
// to use it after releasing the mutex.
func (vs *VersionSet) Current() *Version { return vs.current }

// Options returns the level-shape options the VersionSet was opened with, defaults filled in.
// The result must not be modified.
func (vs *VersionSet) Options() *Options { return &vs.opts }

// InternalComparator returns the order of the keys in the VersionSet's files.
func (vs *VersionSet) InternalComparator() *keys.InternalComparator { return vs.icmp }

// NewFileNumber hands out a new file number. Numbers are never reused: the MANIFEST records
// the next number with every edit.
func (vs *VersionSet) NewFileNumber() uint64 {
	n := vs.nextFileNum
	vs.nextFileNum++
	return n
}

// PeekFileNumber returns the number NewFileNumber will hand out next, without taking it: every
// file made from now on is numbered at or above it.
func (vs *VersionSet) PeekFileNumber() uint64 { return vs.nextFileNum }

// ReuseFileNumber gives back file number n if it is the last one handed out and nothing was
// created under it (the DB calls it when creating a new log fails).
func (vs *VersionSet) ReuseFileNumber(n uint64) {
	if vs.nextFileNum == n+1 {
		vs.nextFileNum = n
	}
}

// MarkFileNumberUsed makes sure that n is never handed out, as recovery does for the logs it
// finds on disk.
func (vs *VersionSet) MarkFileNumberUsed(n uint64) {
	if vs.nextFileNum <= n {
		vs.nextFileNum = n + 1
	}
}

// LastSequence returns the sequence number of the last write applied.
func (vs *VersionSet) LastSequence() keys.SeqNum { return vs.lastSeq }

// SetLastSequence records the sequence number of the last write applied. Sequence numbers
// never go back; a smaller s is a programming error and panics.
func (vs *VersionSet) SetLastSequence(s keys.SeqNum) {
	if s < vs.lastSeq {
		panic(fmt.Sprintf("compaction: SetLastSequence(%d) below the last sequence %d", s, vs.lastSeq))
	}
	vs.lastSeq = s
}

// LogNumber returns the number of the oldest log still needed: older logs are all in tables.
func (vs *VersionSet) LogNumber() uint64 { return vs.logNum }

// PrevLogNumber returns leveldb's previous log number: 0 unless the DB came from an old
// leveldb that recorded one. A log with this number is also still needed.
func (vs *VersionSet) PrevLogNumber() uint64 { return vs.prevLogNum }

// ManifestFileNumber returns the number of the MANIFEST that CURRENT names. The DB may delete
// any MANIFEST with a smaller number (a new MANIFEST being written always has a larger one).
func (vs *VersionSet) ManifestFileNumber() uint64 { return vs.manifestNum }

// CompactPointer returns the internal key after which the next size compaction of level
// starts, or nil to start at the beginning.
func (vs *VersionSet) CompactPointer(level int) []byte { return vs.compactPointers[level] }

// NumLevelFiles returns the number of files at level in the current Version.
func (vs *VersionSet) NumLevelFiles(level int) int { return vs.current.NumFiles(level) }

// AddLiveFiles adds to live the number of every file of every Version still referenced: the
// current one and any a reader holds. Files not in it (and not being written) are obsolete.
// It may be called with or without the DB's mutex.
func (vs *VersionSet) AddLiveFiles(live map[uint64]struct{}) {
	vs.live.Lock()
	defer vs.live.Unlock()
	for v := vs.live.head.next; v != &vs.live.head; v = v.next {
		for _, files := range v.Levels {
			for _, f := range files {
				live[f.Num] = struct{}{}
			}
		}
	}
}

// LogAndApply applies edit to the current Version, records it in the MANIFEST, and makes the
// result current. mu is the DB's mutex: held on entry and on return, released while waiting for
// an earlier LogAndApply to finish and during the I/O. The VersionSet may change while mu is
// released (other goroutines take file numbers, advance the last sequence); the edit takes the
// values current when its turn comes.
//
// Like leveldb's, it fills in the edit's log number (unless set; a set one must lie in
// [LogNumber(), next file number)), previous log number (unless set), next file number and
// last sequence number. The first call after Create or Recover, and the first after a failure,
// starts a new MANIFEST: it writes a snapshot of the current Version first, and once the edit
// is synced, points CURRENT at the new file. The order of durable steps:
//
//  1. append the edit (after the snapshot, if new) and sync the MANIFEST; when appending an
//     edit that adds files to an open MANIFEST, sync the directory first, so the new tables'
//     directory entries are durable before the edit that names them (callers need not sync the
//     directory themselves; leveldb gets the same by syncing the directory with every MANIFEST
//     sync);
//  2. for a new MANIFEST: sync the directory (its entry and the new tables'), write
//     NNNNNN.dbtmp naming it, sync that, rename it over CURRENT, sync the directory again;
//  3. only then install the new Version.
//
// On error nothing is installed and the open MANIFEST is dropped (a new one created by this call
// is removed unless CURRENT already names it), so the next call starts a fresh MANIFEST rather
// than appending after a possibly torn record. The edit itself may still be on disk: an append
// or a sync that reports failure may have written it, so after an error the DB cannot know
// whether the edit will be seen by the next open and must treat the error as sticky (in
// particular, it must not delete files the edit's outcome decides about).
//
// An edit that deletes a file not at the named level, adds a file already present, or would
// make a level from 1 down overlap is refused before any I/O with an error wrapping
// dberr.ErrInvalidArgument.
func (vs *VersionSet) LogAndApply(edit *VersionEdit, mu *sync.Mutex) error {
	// Wait for our turn without holding mu, so the call ahead of us can take mu back when its
	// I/O is done.
	mu.Unlock()
	vs.logMu.Lock()
	defer vs.logMu.Unlock()
	mu.Lock()

	if vs.closed {
		return fmt.Errorf("%w: LogAndApply after Close", dberr.ErrClosed)
	}
	if edit.HasLogNum {
		if edit.LogNum < vs.logNum || edit.LogNum >= vs.nextFileNum {
			return dberr.InvalidArgf("edit's log number %d is outside [%d, %d)",
				edit.LogNum, vs.logNum, vs.nextFileNum)
		}
	} else {
		edit.SetLogNum(vs.logNum)
	}
	if !edit.HasPrevLogNum {
		edit.SetPrevLogNum(vs.prevLogNum)
	}
	for _, cp := range edit.CompactPointers {
		if cp.Level < 0 || cp.Level >= NumLevels {
			return dberr.InvalidArgf("edit has a compact pointer for level %d", cp.Level)
		}
	}

	b := newBuilder(vs.icmp, &vs.opts, vs.current)
	if err := b.apply(edit); err != nil {
		return dberr.InvalidArgf("%v", err)
	}
	v, err := b.build()
	if err != nil {
		return dberr.InvalidArgf("%v", err)
	}
	cps := vs.compactPointers
	for _, cp := range edit.CompactPointers {
		cps[cp.Level] = cp.Key
	}

	// A new MANIFEST takes its number before the edit records the next file number, so that
	// the number is covered.
	var newManifest uint64
	var snapshot *VersionEdit
	if vs.manifestFile == nil {
		newManifest = vs.nextManifestNum
		vs.nextManifestNum = 0
		if newManifest == 0 {
			newManifest = vs.NewFileNumber()
		}
		snapshot = vs.snapshotLocked()
	}
	edit.SetNextFileNum(vs.nextFileNum)
	edit.SetLastSeq(vs.lastSeq)

	mu.Unlock()
	err = vs.writeEdit(newManifest, snapshot, edit)
	mu.Lock()
	if err != nil {
		return err
	}
	vs.appendVersion(v)
	vs.logNum = edit.LogNum
	vs.prevLogNum = edit.PrevLogNum
	vs.compactPointers = cps
	if newManifest != 0 {
		vs.manifestNum = newManifest
	}
	return nil
}

// SnapshotEdit returns the edit that LogAndApply writes at the start of a new MANIFEST (see
// snapshotLocked): the comparator's name, the compact pointers and every file of the current
// Version at its level. It sets no counter (log number, next file number, last sequence): a
// caller writing a MANIFEST of its own from it (DB.Checkpoint, with WriteManifest) sets them.
// The edit shares the Version's FileMetadata, which must not be modified. Requires the DB's
// mutex.
func (vs *VersionSet) SnapshotEdit() *VersionEdit { return vs.snapshotLocked() }

// snapshotLocked returns the edit that starts a new MANIFEST: the comparator, the compact
// pointers and every file of the current Version. Level 0 is written in smallest-key order
// (file number breaking ties), the order leveldb keeps it in, so our snapshot is byte for byte
// the one leveldb writes for the same Version. Requires the DB's mutex.
func (vs *VersionSet) snapshotLocked() *VersionEdit {
	var e VersionEdit
	e.SetComparator(vs.icmp.User.Name())
	for level, key := range vs.compactPointers {
		if key != nil {
			e.AddCompactPointer(level, key)
		}
	}
	for level, files := range vs.current.Levels {
		if level == 0 {
			files = slices.Clone(files)
			slices.SortStableFunc(files, func(x, y *FileMetadata) int {
				if c := vs.icmp.Compare(x.Smallest, y.Smallest); c != 0 {
					return c
				}
				if x.Num < y.Num {
					return -1
				}
				return 1
			})
		}
		for _, f := range files {
			e.AddFile(level, f)
		}
	}
	return &e
}

// writeEdit does LogAndApply's I/O: appends the edit to the open MANIFEST, or to a new MANIFEST
// numbered newManifest (non-zero) that starts with snapshot, syncs it, and for a new MANIFEST
// points CURRENT at it. Requires logMu, not the DB's mutex.
func (vs *VersionSet) writeEdit(newManifest uint64, snapshot, edit *VersionEdit) (err error) {
	num := newManifest // the MANIFEST the edit goes to
	if num == 0 {
		num = vs.manifestNum // written only by LogAndApply, under logMu, which we hold
	}
	var created string // the path of a MANIFEST this call created
	renamed := false   // CURRENT names the MANIFEST this call created
	defer func() {
		if err == nil {
			return
		}
		vs.logf("MANIFEST write failed: %v", err)
		if vs.manifestFile != nil {
			_ = vs.manifestFile.Close()
			vs.manifestFile, vs.manifest = nil, nil
		}
		if created != "" && !renamed {
			_ = vs.fs.Remove(created)
		}
	}()

	if newManifest != 0 {
		path := filenames.Path(vs.dir, filenames.Manifest, newManifest)
		f, err := vs.fs.Create(path)
		if err != nil {
			return dberr.Wrap(err, "create %s", path)
		}
		created = path
		vs.manifestFile, vs.manifest = f, wal.NewWriter(f)
		if err := vs.manifest.AddRecord(snapshot.Encode(nil)); err != nil {
			return dberr.Wrap(err, "write %s", path)
		}
	}
	if newManifest == 0 && (len(edit.NewFiles) > 0 || edit.HasLogNum) {
		// The tables the edit adds, and the log it names, were created in the directory; their
		// entries must be durable before a durable edit names them. (The DB does not sync the
		// directory when it switches logs.) A new MANIFEST gets the same from the directory sync
		// below, before CURRENT names it.
		if err := vs.fs.SyncDir(vs.dir); err != nil {
			return dberr.Wrap(err, "sync directory %s", vs.dir)
		}
	}
	if err := vs.manifest.AddRecord(edit.Encode(nil)); err != nil {
		return dberr.Wrap(err, "write %s", filenames.Path(vs.dir, filenames.Manifest, num))
	}
	if err := vs.manifest.Sync(); err != nil {
		return dberr.Wrap(err, "sync %s", filenames.Path(vs.dir, filenames.Manifest, num))
	}
	if newManifest == 0 {
		return nil
	}
	// The MANIFEST's directory entry must be durable before CURRENT can name it.
	if err := vs.fs.SyncDir(vs.dir); err != nil {
		return dberr.Wrap(err, "sync directory %s", vs.dir)
	}
	renamed, err = SetCurrent(vs.fs, vs.dir, newManifest)
	return err
}

// Close closes the MANIFEST. Later LogAndApply calls fail with dberr.ErrClosed. Call it without
// the DB's mutex held, since it waits for a LogAndApply in progress.
func (vs *VersionSet) Close() error {
	vs.logMu.Lock()
	defer vs.logMu.Unlock()
	vs.closed = true
	if vs.manifestFile == nil {
		return nil
	}
	err := vs.manifestFile.Close()
	vs.manifestFile, vs.manifest = nil, nil
	return err
}
