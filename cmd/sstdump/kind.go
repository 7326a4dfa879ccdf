package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/wal"
)

// fileKind is what a file is, as far as sstdump can tell.
type fileKind int

const (
	kindUnknown  fileKind = iota
	kindTable             // NNNNNN.ldb, .sst, or ends with the table magic
	kindLog               // NNNNNN.log, or a log whose first record is a WriteBatch
	kindManifest          // MANIFEST-NNNNNN, or a log whose first record is a VersionEdit
	kindCurrent           // CURRENT: stands for its directory
	kindOther             // LOCK, LOG, LOG.old, NNNNNN.dbtmp: nothing sstdump reads
)

func (k fileKind) String() string {
	return [...]string{"unknown", "table", "log", "manifest", "CURRENT", "other"}[k]
}

// kindByName recognises a file from its base name: leveldb's names first, then the suffixes
// .ldb, .sst and .log and the prefix MANIFEST, so copies such as broken.ldb are recognised too.
func kindByName(path string) fileKind {
	base := filepath.Base(path)
	if k, _, ok := filenames.Parse(base); ok {
		switch k {
		case filenames.Table:
			return kindTable
		case filenames.Log:
			return kindLog
		case filenames.Manifest:
			return kindManifest
		case filenames.Current:
			return kindCurrent
		default:
			return kindOther
		}
	}
	switch {
	case strings.HasSuffix(base, ".ldb"), strings.HasSuffix(base, filenames.LegacyTableSuffix):
		return kindTable
	case strings.HasSuffix(base, ".log"):
		return kindLog
	case strings.HasPrefix(base, "MANIFEST"):
		return kindManifest
	}
	return kindUnknown
}

// maxSniff bounds how much of a file kindByContent reads looking for a first log record.
const maxSniff = 4 << 20

// kindByContent recognises a file from its bytes: a table ends with the table magic; a log (or
// MANIFEST) starts with a record whose checksum is right, and the record tells a MANIFEST (a
// VersionEdit) from a write-ahead log (a WriteBatch).
func kindByContent(e *env, path string) (fileKind, error) {
	f, size, err := openFile(e, path)
	if err != nil {
		return kindUnknown, err
	}
	defer f.Close()
	if size >= sstable.FooterLen {
		var magic [8]byte
		if _, err := f.ReadAt(magic[:], size-8); err != nil && !errors.Is(err, io.EOF) {
			return kindUnknown, err
		}
		if coding.Fixed64(magic[:]) == sstable.Magic {
			return kindTable, nil
		}
	}
	r := wal.NewReader(io.LimitReader(f, maxSniff), path)
	rec, err := r.Next()
	if err != nil {
		if isCorruption(err) || errors.Is(err, wal.ErrTornTail) || err == io.EOF {
			return kindUnknown, nil
		}
		return kindUnknown, err
	}
	var ed compaction.VersionEdit
	if ed.Decode(rec, path, 0) == nil {
		return kindManifest, nil
	}
	if batch.Validate(rec, path, 0) == nil {
		return kindLog, nil
	}
	return kindUnknown, nil
}

// kindOf recognises a file by name, or by content when the name says nothing.
func kindOf(e *env, path string) (fileKind, error) {
	if k := kindByName(path); k != kindUnknown {
		return k, nil
	}
	return kindByContent(e, path)
}

// auto runs the command a path suggests: db for a directory or CURRENT, scan for a table,
// log for a log, manifest for a MANIFEST.
func auto(e *env, path string) error {
	fi, err := e.fs.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(path, "/.\\") {
			return usagef("", "%s: no such command, file or directory", path)
		}
		e.fileError(path, err)
		return nil
	}
	if fi.IsDir() {
		return dbCmd(e, path, dbOptions{})
	}
	k, err := kindOf(e, path)
	if err != nil {
		e.fileError(path, err)
		return nil
	}
	switch k {
	case kindTable:
		return scan(e, path, &scanOptions{maxValue: defaultMaxValue})
	case kindLog:
		return dumpLog(e, path, bytesFormat{maxValue: defaultMaxValue})
	case kindManifest:
		return dumpManifest(e, path, bytesFormat{})
	case kindCurrent:
		return dbCmd(e, filepath.Dir(path), dbOptions{})
	case kindOther:
		return usagef("", "%s: not a file sstdump reads (LOCK, an info log or a temporary file)", path)
	}
	return usagef("", "%s: cannot tell what kind of file this is (not a table, log or MANIFEST by name or content); name a command: sstdump scan|log|manifest %s", path, path)
}
