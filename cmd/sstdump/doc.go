// Command sstdump prints and checks the files of a leveldb database, written by Strata or by
// C++ leveldb, without changing anything: tables (.ldb, .sst), write-ahead logs (.log),
// MANIFESTs, and whole DB directories.
//
//	sstdump scan [flags] TABLE       every entry: key#seq,KIND -> value (or key -> value)
//	sstdump props TABLE              footer, handles, block and entry counts, sizes, key range
//	sstdump check [flags] PATH...    checksums, key order, index and filter consistency
//	sstdump log [flags] LOG          each WriteBatch record and its operations
//	sstdump manifest [flags] FILE    each VersionEdit, then the resulting level tree
//	sstdump db [--check] DIR         the level tree from CURRENT and the MANIFEST, a summary
//	sstdump compat DIR               whether C++ leveldb 1.23 can open the DB and read every key
//	sstdump FILE|DIR                 what the file's name or contents suggest
//	sstdump help [COMMAND]           usage; -h works everywhere too
//	sstdump --version                the version, from the binary's build information
//
// docs/sstdump.md describes every command with real output, the exit codes and the JSON
// format.
//
// Exit codes: 0 when all is well (a torn log tail is normal after a crash and counts as well),
// 1 when the data has problems, 2 for wrong input: a usage error, a file that cannot be read at
// all, a file given to scan or props that is not a table, a directory with nothing to check.
// Every error is one line on stderr that names the file; nothing panics, and a broken pipe on
// stdout (`sstdump scan t.ldb | head`) ends the program quietly.
//
// Every command takes --format=json and then prints JSON Lines (one object per line) for
// scripts. Values are cut at 256 bytes in text unless --full-values or --max-value says
// otherwise.
//
// Invariants:
//  1. sstdump never writes to the files it reads and never takes a DB's LOCK. It reaches the
//     filesystem only through readFS (Open, Stat, List of vfs's OS filesystem), which
//     has no method that could create, write, rename or lock anything; files are opened
//     read-only.
//  2. Memory does not grow with the data: tables are walked one block at a time (memory is the
//     index block, the filter block and one data block), logs one record at a time, and
//     output is written as it is produced.
//  3. No input makes it panic: every length and offset read from a file is checked before
//     use, and run recovers from a panic as a last resort, reporting it in one line.
//
// Tables are read through sstable.RawReader (table.go) rather than sstable.Reader: the Reader
// refuses, by design, a table whose key order it cannot verify, and sstdump must dump tables
// written with comparators it does not know (IndexedDB's, say) and check damaged tables past
// their first fault. sstable's comparator-free primitives (RawReader, RawBlock.Walk,
// DecodeFilterBlock) make the format's own checks (footer, handles, checksums, compression,
// block structure, filter block) with the Reader's code; sstdump adds the checks that need a
// key order it knows and reports what it finds. Tests compare the walk with sstable.Reader on
// every good fixture.
package main
