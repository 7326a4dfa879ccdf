// Package compaction holds the level tree of a DB: which table files make up each level, how
// that set changes, how the changes are made durable, and which compaction the tree needs next
// (the runner that merges tables is the DB's: db/compact.go).
//
//   - FileMetadata describes one table: number, size, smallest and largest internal key.
//   - VersionEdit is one change (files deleted and added per level, and the counters below),
//     encoded byte for byte as leveldb 1.23 encodes it (version_edit.go).
//   - Version is one immutable state of the tree, with the queries reads and compactions need:
//     overlapping files, the candidate files of a point lookup, where a flushed memtable goes,
//     and which level most needs compaction (version.go).
//   - VersionSet is the tree over time: the current Version, the Versions readers still hold,
//     the file-number counter, the log numbers, the last sequence number, and the MANIFEST that
//     records every edit (version_set.go, manifest.go; the file formats are specified in
//     docs/format/manifest.md). CURRENT is read and replaced in current.go only, and a MANIFEST
//     is replayed in replay.go only: strictly for Open, tolerantly (reporting each problem and
//     going on) for Repair and sstdump.
//   - Compaction is one unit of work the tree needs: PickCompaction chooses it from the level
//     scores and seek counts, CompactRange the next step of a manual compaction, SplitKeys cuts
//     it into parts (picker.go); a Dropper decides which entries a merge may leave out
//     (drop.go). docs/compaction.md gives the rules and their numbers.
//
// # Invariants
//
//  1. Level 0 is sorted by file number, oldest first; its files may overlap, and for a user key
//     a newer file's entries shadow an older one's. Levels 1 to 6 are sorted by smallest
//     internal key and do not overlap: each file's largest internal key sorts before the next
//     file's smallest. The builder refuses any edit that would break this.
//  2. A Version never changes once built. Edits make new Versions; Versions share the slices of
//     levels an edit did not touch.
//  3. File numbers are never reused: every MANIFEST edit records the next number to hand out,
//     and recovery never hands out a number at or below one it has seen.
//  4. An edit is appended to the MANIFEST and the MANIFEST synced before its Version is
//     installed, so nothing the DB acts on can be lost by a crash; and the directory entries of
//     the tables an edit adds are synced before the edit is (LogAndApply syncs the directory).
//  5. CURRENT only ever names a complete, synced MANIFEST whose directory entry is synced: a new
//     MANIFEST is written and synced, the directory synced, and only then is CURRENT replaced
//     (temp file, sync, rename, directory sync). A crash at any point leaves CURRENT naming the
//     old MANIFEST or the new one.
//
// # Concurrency
//
// A VersionSet is guarded by the DB's mutex; its methods require it held unless they say
// otherwise. LogAndApply releases it during its I/O (and while waiting behind another
// LogAndApply: calls are serialized by an internal mutex and run in turn). Versions are safe
// for concurrent readers without any lock. Their reference counts are atomic, so a reader may
// Unref a Version from any goroutine; when the last reference goes, the Version leaves the
// VersionSet's list of live versions and the files only it held become obsolete (AddLiveFiles).
package compaction
