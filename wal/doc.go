// Package wal reads and writes leveldb's log format, the framing of Strata's write-ahead log and
// of its MANIFEST. A log is a sequence of records (opaque byte strings: a WriteBatch for the
// write-ahead log, a VersionEdit for the MANIFEST); wal knows records, not what they hold. The
// byte layout, and how a reader tells a torn tail from corruption, is specified in
// docs/format/log.md.
//
// Invariants:
//
//  1. One Write per record. Writer.AddRecord frames the whole record (all of its fragments,
//     headers and any block padding before it) in memory and hands it to the file in exactly one
//     Write call, with no buffering in user space after it returns. A record acknowledged
//     without Sync therefore survives the process being killed at any instant.
//  2. After a failed Write or Sync the Writer is broken: every later call returns the same error,
//     because the position of the next block boundary in the file is no longer known.
//  3. Records come back exactly, or an error says why not. Reader.Next returns each record with
//     the bytes it was written with (every fragment's checksum verified) or an error: io.EOF at
//     a clean end, an error matching ErrTornTail where an interrupted append left a partial
//     record at the end of the file (callers treat it as the end of the log), and otherwise an
//     error matching dberr.ErrCorruption that names the file and offset.
//  4. The reader never trusts a length read from the file, never panics, always makes progress,
//     and holds at most one 32 KiB block plus the record being reassembled.
//  5. The Writer's output is byte for byte what C++ leveldb 1.23's log writer produces for the
//     same records; the tests check this against files written by leveldb itself.
//
// Concurrency: a Writer belongs to one goroutine at a time, and so does a Reader; neither locks.
// The DB serializes appends through its commit path (one group leader writes at a time).
package wal
