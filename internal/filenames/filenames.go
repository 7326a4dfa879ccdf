// Package filenames names the files of a DB directory, as leveldb 1.23 does, and parses names
// back.
//
// Numbered files share one counter (the VersionSet's next file number), so a number identifies
// a file whatever its kind:
//
//	000123.log       write-ahead log
//	000123.ldb       table (leveldb also reads the older .sst suffix; so do we)
//	MANIFEST-000123  descriptor: the log of VersionEdits
//	000123.dbtmp     temporary file, renamed into place (CURRENT's new contents)
//	CURRENT          names the live MANIFEST, newline-terminated
//	LOCK             holds the directory's advisory lock
//	LOG, LOG.old     human-readable info log and its predecessor
//
// Invariant: Parse(Name(kind, n)) returns (kind, n) for every kind and number; names are part of
// the on-disk format and never change.
package filenames

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Kind is the kind of a file in a DB directory.
type Kind int

const (
	Unknown Kind = iota
	Log
	Table
	Manifest
	Temp
	Current
	Lock
	InfoLog
	OldInfoLog
)

func (k Kind) String() string {
	switch k {
	case Log:
		return "log"
	case Table:
		return "table"
	case Manifest:
		return "manifest"
	case Temp:
		return "temp"
	case Current:
		return "current"
	case Lock:
		return "lock"
	case InfoLog:
		return "info-log"
	case OldInfoLog:
		return "old-info-log"
	}
	return "unknown"
}

// Fixed names; part of the on-disk format.
const (
	CurrentName    = "CURRENT"
	LockName       = "LOCK"
	InfoLogName    = "LOG"
	OldInfoLogName = "LOG.old"
	manifestPrefix = "MANIFEST-"
	// LegacyTableSuffix is the table suffix leveldb used before 1.14; tables are still read
	// under it.
	LegacyTableSuffix = ".sst"
)

// Name returns the base name of the numbered file of kind k. It panics for kinds that carry no
// number (Current, Lock, InfoLog, OldInfoLog, Unknown): that is a programming error.
func Name(k Kind, num uint64) string {
	switch k {
	case Log:
		return fmt.Sprintf("%06d.log", num)
	case Table:
		return fmt.Sprintf("%06d.ldb", num)
	case Manifest:
		return fmt.Sprintf("%s%06d", manifestPrefix, num)
	case Temp:
		return fmt.Sprintf("%06d.dbtmp", num)
	}
	panic(fmt.Sprintf("filenames: kind %v has no number", k))
}

// Path returns filepath.Join(dir, Name(k, num)).
func Path(dir string, k Kind, num uint64) string { return filepath.Join(dir, Name(k, num)) }

// LegacyTablePath returns the path of table num under the old ".sst" suffix.
func LegacyTablePath(dir string, num uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%06d%s", num, LegacyTableSuffix))
}

// Parse recognises a base name. For numbered kinds it returns the number; for the fixed names
// it returns 0. Unrecognised names give (Unknown, 0, false).
func Parse(name string) (k Kind, num uint64, ok bool) {
	switch name {
	case CurrentName:
		return Current, 0, true
	case LockName:
		return Lock, 0, true
	case InfoLogName:
		return InfoLog, 0, true
	case OldInfoLogName:
		return OldInfoLog, 0, true
	}
	if rest, found := strings.CutPrefix(name, manifestPrefix); found {
		n, ok := parseNumber(rest)
		if !ok {
			return Unknown, 0, false
		}
		return Manifest, n, true
	}
	dot := strings.IndexByte(name, '.')
	if dot < 0 {
		return Unknown, 0, false
	}
	n, ok := parseNumber(name[:dot])
	if !ok {
		return Unknown, 0, false
	}
	switch name[dot:] {
	case ".log":
		return Log, n, true
	case ".ldb", LegacyTableSuffix:
		return Table, n, true
	case ".dbtmp":
		return Temp, n, true
	}
	return Unknown, 0, false
}

// parseNumber accepts a non-empty run of decimal digits that fits a uint64.
func parseNumber(s string) (uint64, bool) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
