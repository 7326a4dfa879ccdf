package compaction

// MANIFEST I/O: writing a MANIFEST of one edit (a new DB's first, a repaired DB's), and
// recovering a VersionSet from the MANIFEST that CURRENT names (current.go reads and writes
// CURRENT, replay.go replays the edits). docs/format/manifest.md specifies both files.

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// Create makes a new DB's VersionSet in dir, which must exist and must not hold CURRENT. Like
// leveldb's NewDB it writes MANIFEST-000001 holding one edit (the comparator's name, log number
// 0, next file number 2, last sequence 0), syncs it and the directory, and then points CURRENT
// at it. It returns the VersionSet recovered from what it wrote, as Recover would; the first
// LogAndApply then starts MANIFEST-000002, as leveldb's first open does.
//
// On failure before CURRENT is renamed into place, MANIFEST-000001 is removed (best effort).
func Create(fs vfs.FS, dir string, icmp *keys.InternalComparator, opts *Options) (*VersionSet, error) {
	current := filepath.Join(dir, filenames.CurrentName)
	if _, err := fs.Stat(current); err == nil {
		return nil, dberr.InvalidArgf("%s already exists; not creating a new database over it", current)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, dberr.Wrap(err, "check for %s", current)
	}

	var e VersionEdit
	e.SetComparator(icmp.User.Name())
	e.SetLogNum(0)
	e.SetNextFileNum(2)
	e.SetLastSeq(0)
	if _, err := WriteManifest(fs, dir, 1, &e); err != nil {
		return nil, err
	}
	return Recover(fs, dir, icmp, opts)
}

// WriteManifest writes a new MANIFEST-num in dir holding edit alone, syncs it and the directory,
// and points CURRENT at it (SetCurrent): Create writes a new DB's first MANIFEST with it, and
// Repair the MANIFEST of the DB it rebuilt. The directory entries of the tables edit names must
// be synced already. On failure before CURRENT is renamed, the new MANIFEST is removed (best
// effort) and CURRENT is as it was; renamed reports whether the rename happened.
func WriteManifest(fs vfs.FS, dir string, num uint64, edit *VersionEdit) (renamed bool, err error) {
	path := filenames.Path(dir, filenames.Manifest, num)
	defer func() {
		if err != nil && !renamed {
			_ = fs.Remove(path)
		}
	}()
	f, err := fs.Create(path)
	if err != nil {
		return false, dberr.Wrap(err, "create %s", path)
	}
	w := wal.NewWriter(f)
	err = w.AddRecord(edit.Encode(nil))
	if err == nil {
		err = w.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = dberr.Wrap(cerr, "close %s", path)
	}
	if err != nil {
		return false, dberr.Wrap(err, "write %s", path)
	}
	if err := fs.SyncDir(dir); err != nil {
		return false, dberr.Wrap(err, "sync directory %s", dir)
	}
	return SetCurrent(fs, dir, num)
}

// Recover reads the VersionSet of the DB in dir: CURRENT, then every edit of the MANIFEST it
// names. It changes nothing on disk. The first LogAndApply afterwards starts a new MANIFEST.
//
// Errors: a missing CURRENT gives an error matching os.ErrNotExist (no DB here); a CURRENT that
// is empty, lacks its final newline or names something other than a MANIFEST, a CURRENT naming
// a MANIFEST that does not exist (deliberately not os.ErrNotExist: the DB is there but broken),
// a damaged MANIFEST record or edit, an edit that deletes a file not present or adds one twice,
// overlapping files in a level from 1 down, and a MANIFEST without next-file-number, log-number
// or last-sequence entries all give errors matching dberr.ErrCorruption. A comparator name
// different from icmp's user comparator gives one matching dberr.ErrInvalidArgument. A torn
// record at the end of the MANIFEST is an edit that was never acknowledged: recovery stops
// before it and reports it through Options.Logf.
func Recover(fs vfs.FS, dir string, icmp *keys.InternalComparator, opts *Options) (*VersionSet, error) {
	vs := newVersionSet(fs, dir, icmp, opts)
	name, manifestNum, err := ReadCurrent(fs, dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	f, err := fs.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, dberr.Corruptf(filepath.Join(dir, filenames.CurrentName), dberr.NoOffset,
				"names %s, which does not exist", name)
		}
		return nil, dberr.Wrap(err, "read %s", path)
	}
	defer f.Close()
	r, v, err := ReplayManifest(f, path, ReplayOptions{Comparator: icmp, Options: &vs.opts, Torn: func(err error) {
		vs.logf("%s: ignoring a torn record at its end, an edit that was never acknowledged: %v", path, err)
	}})
	if err != nil {
		return nil, err
	}
	vs.nextFileNum = r.NextFileNum
	vs.MarkFileNumberUsed(r.LogNum)
	vs.MarkFileNumberUsed(r.PrevLogNum)
	vs.MarkFileNumberUsed(manifestNum)
	// leveldb trusts the recorded next file number alone; a table numbered at or above it can
	// only come from a damaged MANIFEST, but never handing its number out again costs nothing.
	for _, files := range v.Levels {
		for _, f := range files {
			vs.MarkFileNumberUsed(f.Num)
		}
	}
	vs.nextManifestNum = vs.NewFileNumber()
	vs.manifestNum = manifestNum
	vs.logNum = r.LogNum
	vs.prevLogNum = r.PrevLogNum
	vs.lastSeq = r.LastSeq
	vs.compactPointers = r.CompactPointers
	vs.appendVersion(v)
	vs.logf("recovered %s: %d records, log %d, next file %d, last sequence %d, files per level %v",
		name, r.Edits, r.LogNum, vs.nextFileNum, r.LastSeq, levelCounts(v))
	return vs, nil
}

func levelCounts(v *Version) [NumLevels]int {
	var n [NumLevels]int
	for level := range v.Levels {
		n[level] = len(v.Levels[level])
	}
	return n
}
