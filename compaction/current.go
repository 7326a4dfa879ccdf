package compaction

// CURRENT: the file naming the MANIFEST in force, the one place it is read and written. Its
// content is "MANIFEST-NNNNNN\n" (docs/format/manifest.md); it is replaced atomically, so that
// a crash leaves it naming the old MANIFEST or the new one, never neither.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/vfs"
)

// maxCurrentSize bounds how much of CURRENT is read: it names one MANIFEST, about 16 bytes.
const maxCurrentSize = 1 << 10

// ReadCurrent returns the MANIFEST name that CURRENT in dir holds, and its number, with the
// checks ParseCurrent makes. A missing CURRENT gives an error matching os.ErrNotExist (no DB
// here); other I/O errors are wrapped with the path.
func ReadCurrent(fs vfs.FS, dir string) (name string, num uint64, err error) {
	path := filepath.Join(dir, filenames.CurrentName)
	f, err := fs.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", 0, dberr.Wrap(err, "no database in %s: %s does not exist", dir, path)
		}
		return "", 0, dberr.Wrap(err, "read %s", path)
	}
	defer f.Close()
	name, num, err = ParseCurrent(f, path)
	if err != nil && !errors.Is(err, dberr.ErrCorruption) {
		err = dberr.Wrap(err, "read %s", path)
	}
	return name, num, err
}

// ParseCurrent reads the content of a CURRENT file from r (path names it in errors) and returns
// the MANIFEST name it holds and its number. Content that is empty, longer than 1 KiB, lacks its
// final newline, or is anything but the base name of a MANIFEST gives an error matching
// dberr.ErrCorruption; an error reading r is returned as it is.
func ParseCurrent(r io.Reader, path string) (name string, num uint64, err error) {
	b, err := io.ReadAll(io.LimitReader(r, maxCurrentSize+1))
	if err != nil {
		return "", 0, err
	}
	switch {
	case len(b) > maxCurrentSize:
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "longer than %d bytes", maxCurrentSize)
	case len(b) == 0:
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "empty")
	case b[len(b)-1] != '\n':
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "does not end with a newline")
	}
	name = string(b[:len(b)-1])
	kind, num, ok := filenames.Parse(name)
	if !ok || kind != filenames.Manifest || bytes.ContainsAny(b[:len(b)-1], "/\\\n") {
		return "", 0, dberr.Corruptf(path, dberr.NoOffset, "holds %q, not the name of a MANIFEST", name)
	}
	return name, num, nil
}

// SetCurrent points CURRENT in dir at MANIFEST-num, which must be complete and synced, with its
// directory entry synced: it writes "MANIFEST-num\n" to num's .dbtmp file, syncs it, renames it
// over CURRENT and syncs the directory. renamed reports whether the rename happened: then
// CURRENT names the new MANIFEST (durably so only if err is nil). Before the rename, a failure
// removes the temporary file and leaves CURRENT as it was.
func SetCurrent(fs vfs.FS, dir string, num uint64) (renamed bool, err error) {
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
