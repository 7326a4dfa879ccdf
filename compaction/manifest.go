package compaction

// MANIFEST and CURRENT I/O: creating a new DB's first MANIFEST, pointing CURRENT at a MANIFEST,
// and recovering a VersionSet from the MANIFEST that CURRENT names. docs/format/manifest.md
// specifies both files.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/wal"
)

// maxCurrentSize bounds how much of CURRENT is read: it names one MANIFEST, about 16 bytes.
const maxCurrentSize = 1 << 10

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
	const num = 1
	path := filenames.Path(dir, filenames.Manifest, num)
	renamed, err := createFirstManifest(fs, dir, path, e.Encode(nil))
	if err != nil {
		if !renamed {
			_ = fs.Remove(path)
		}
		return nil, err
	}
	return Recover(fs, dir, icmp, opts)
}

func createFirstManifest(fs vfs.FS, dir, path string, record []byte) (renamed bool, err error) {
	f, err := fs.Create(path)
	if err != nil {
		return false, dberr.Wrap(err, "create %s", path)
	}
	w := wal.NewWriter(f)
	err = w.AddRecord(record)
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
	return setCurrent(fs, dir, 1)
}

// setCurrent points CURRENT at MANIFEST-num: it writes "MANIFEST-num\n" to num's .dbtmp file,
// syncs it, renames it over CURRENT and syncs the directory. renamed reports whether the rename
// happened: then CURRENT names the new MANIFEST (durably so only if err is nil).
func setCurrent(fs vfs.FS, dir string, num uint64) (renamed bool, err error) {
	tmp := filenames.Path(dir, filenames.Temp, num)
	current := filepath.Join(dir, filenames.CurrentName)
	f, err := fs.Create(tmp)
	if err != nil {
		return false, dberr.Wrap(err, "create %s", tmp)
	}
	_, err = f.Write([]byte(filenames.Name(filenames.Manifest, num) + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, current)
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return false, dberr.Wrap(err, "write %s", current)
	}
	if err := fs.SyncDir(dir); err != nil {
		return true, dberr.Wrap(err, "sync directory %s after renaming %s", dir, current)
	}
	return true, nil
}

// readCurrent returns the MANIFEST name CURRENT holds and its number.
func readCurrent(fs vfs.FS, dir string) (string, uint64, error) {
	path := filepath.Join(dir, filenames.CurrentName)
	f, err := fs.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", 0, dberr.Wrap(err, "no database in %s: %s does not exist", dir, path)
		}
		return "", 0, dberr.Wrap(err, "read %s", path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCurrentSize+1))
	if err != nil {
		return "", 0, dberr.Wrap(err, "read %s", path)
	}
	switch {
	case len(b) > maxCurrentSize:
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "longer than %d bytes", maxCurrentSize)
	case len(b) == 0:
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "empty")
	case b[len(b)-1] != '\n':
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "does not end with a newline")
	}
	name := string(b[:len(b)-1])
	kind, num, ok := filenames.Parse(name)
	if !ok || kind != filenames.Manifest || bytes.ContainsAny(b[:len(b)-1], "/\\\n") {
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "holds %q, not the name of a MANIFEST", name)
	}
	return name, num, nil
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
	name, manifestNum, err := readCurrent(fs, dir)
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

	var (
		b                                           = newBuilder(icmp, &vs.opts, nil)
		haveNext, haveLog, havePrevLog, haveLastSeq bool
		nextFile, logNum, prevLogNum                uint64
		lastSeq                                     keys.SeqNum
		cps                                         [NumLevels][]byte
		records                                     int
		r                                           = wal.NewReader(f, path)
		e                                           VersionEdit
	)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, wal.ErrTornTail) {
			vs.logf("%s: ignoring a torn record at its end, an edit that was never acknowledged: %v", path, err)
			break
		}
		if err != nil {
			return nil, err
		}
		records++
		if err := e.Decode(rec, path, r.Offset()); err != nil {
			return nil, err
		}
		if e.HasComparator && e.Comparator != icmp.User.Name() {
			return nil, dberr.InvalidArgf("%s was written with comparator %q, but the database is opened with comparator %q",
				path, e.Comparator, icmp.User.Name())
		}
		if err := b.apply(&e); err != nil {
			return nil, dberr.Corruptf(path, r.Offset(), "%v", err)
		}
		for _, cp := range e.CompactPointers {
			cps[cp.Level] = cp.Key
		}
		if e.HasNextFileNum {
			nextFile, haveNext = e.NextFileNum, true
		}
		if e.HasLogNum {
			logNum, haveLog = e.LogNum, true
		}
		if e.HasPrevLogNum {
			prevLogNum, havePrevLog = e.PrevLogNum, true
		}
		if e.HasLastSeq {
			lastSeq, haveLastSeq = e.LastSeq, true
		}
	}
	switch {
	case !haveNext:
		return nil, dberr.Corruptf(path, dberr.NoOffset, "no next-file-number entry in %d records", records)
	case !haveLog:
		return nil, dberr.Corruptf(path, dberr.NoOffset, "no log-number entry in %d records", records)
	case !haveLastSeq:
		return nil, dberr.Corruptf(path, dberr.NoOffset, "no last-sequence entry in %d records", records)
	}
	if !havePrevLog {
		prevLogNum = 0
	}
	v, err := b.build()
	if err != nil {
		return nil, dberr.Corruptf(path, dberr.NoOffset, "%v", err)
	}

	vs.nextFileNum = nextFile
	vs.MarkFileNumberUsed(logNum)
	vs.MarkFileNumberUsed(prevLogNum)
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
	vs.logNum = logNum
	vs.prevLogNum = prevLogNum
	vs.lastSeq = lastSeq
	vs.compactPointers = cps
	vs.appendVersion(v)
	vs.logf("recovered %s: %d records, log %d, next file %d, last sequence %d, files per level %v",
		name, records, logNum, vs.nextFileNum, lastSeq, levelCounts(v))
	return vs, nil
}

func levelCounts(v *Version) [NumLevels]int {
	var n [NumLevels]int
	for level := range v.Levels {
		n[level] = len(v.Levels[level])
	}
	return n
}
