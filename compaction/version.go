package compaction

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/stratadb/strata/internal/keys"
)

// NumLevels is the number of levels in the tree, as in leveldb. It is part of the on-disk
// format: a MANIFEST naming level NumLevels or deeper is corrupt.
const NumLevels = 7

// Version is one immutable state of the level tree: which table files make up each level.
//
// Levels[0] is sorted by file number, oldest first. Level-0 files may overlap each other, and
// a newer file (larger number: numbers are handed out in flush order) shadows an older one, so
// number order is the order reads need; leveldb keeps level 0 sorted by smallest key instead
// and sorts the matching files by number on every Get. Levels[1] and deeper are sorted by
// smallest internal key, and their files do not overlap: each file's largest internal key sorts
// before the next file's smallest. Two neighbours may share a user key at their boundary (a
// compaction may cut its output between two entries of one user key).
//
// A Version never changes once built, so any number of goroutines may read it without locks.
// Neither Levels nor the FileMetadata in it may be modified (AllowedSeeks excepted). A reader
// keeps a Version alive with Ref and releases it with Unref; while referenced, its files are
// live (VersionSet.AddLiveFiles) and must not be deleted.
type Version struct {
	Levels [NumLevels][]*FileMetadata

	icmp *keys.InternalComparator
	opts *Options // normalized, shared with the VersionSet
	vs   *VersionSet
	refs atomic.Int32

	// Precomputed by finalize: the level most in need of compaction and its score.
	compactionScore float64
	compactionLevel int

	// seek is the file whose allowed seeks ran out first, if any (see RecordSeek).
	seek atomic.Pointer[seekCandidate]

	// Links in the VersionSet's list of live versions, guarded by VersionSet.live.mu.
	prev, next *Version
}

// Candidate is a file that may hold a user key, found by AppendCandidates.
type Candidate struct {
	Level int
	File  *FileMetadata
}

// Ref adds a reference. Call it while the Version is known to be referenced already: with the
// DB's mutex held on VersionSet.Current, or from a reference of one's own.
func (v *Version) Ref() { v.refs.Add(1) }

// Unref drops a reference. When the last one goes, the Version leaves the VersionSet's list of
// live versions, and files only it referenced become obsolete. Unref may be called from any
// goroutine, with or without the DB's mutex.
func (v *Version) Unref() {
	n := v.refs.Add(-1)
	if n < 0 {
		panic("compaction: Version.Unref without a matching Ref")
	}
	if n == 0 && v.vs != nil {
		v.vs.unlinkVersion(v)
	}
}

// NumFiles returns the number of files in level.
func (v *Version) NumFiles(level int) int { return len(v.Levels[level]) }

// LevelBytes returns the total size of the files in level.
func (v *Version) LevelBytes(level int) uint64 { return totalSize(v.Levels[level]) }

func totalSize(files []*FileMetadata) uint64 {
	var n uint64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// CompactionScore returns the level most in need of a size compaction and its score, computed
// when the Version was built. A score of 1 or more means the level is over its target: level 0
// scores its file count over Options.L0CompactionTrigger, levels 1 to 5 their bytes over
// Options.MaxBytesForLevel. Level 6, the last, has nowhere to compact to and is not scored.
func (v *Version) CompactionScore() (score float64, level int) {
	return v.compactionScore, v.compactionLevel
}

// finalize computes the compaction score, as leveldb's VersionSet::Finalize does. Level 0 is
// bounded by file count rather than bytes for two reasons: with a large write buffer, counting
// bytes would compact level 0 too often, and every read merges all level-0 files, so their
// number matters more than their size (small flushes, highly compressible or much-overwritten
// data would otherwise pile up).
func (v *Version) finalize() {
	bestLevel, bestScore := -1, -1.0
	for level := 0; level < NumLevels-1; level++ {
		var score float64
		if level == 0 {
			score = float64(len(v.Levels[0])) / float64(v.opts.L0CompactionTrigger)
		} else {
			score = float64(v.LevelBytes(level)) / v.opts.MaxBytesForLevel(level)
		}
		if score > bestScore {
			bestLevel, bestScore = level, score
		}
	}
	v.compactionLevel, v.compactionScore = bestLevel, bestScore
}

// FindFile returns the index of the first file in level whose largest internal key is at or
// after ikey, or NumFiles(level) when there is none: a binary search, allocation-free. level
// must be 1 or deeper: only there are files sorted and disjoint.
func (v *Version) FindFile(level int, ikey []byte) int {
	files := v.Levels[level]
	lo, hi := 0, len(files)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if v.icmp.Compare(files[mid].Largest, ikey) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// findFileUser returns the index of the first file in level (1 or deeper) whose largest user
// key is at or after userKey.
func (v *Version) findFileUser(level int, userKey []byte) int {
	files := v.Levels[level]
	lo, hi := 0, len(files)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if v.icmp.CompareUser(files[mid].LargestUser(), userKey) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// afterFile reports whether userKey sorts after every key of f; a nil key is never after.
func (v *Version) afterFile(userKey []byte, f *FileMetadata) bool {
	return userKey != nil && v.icmp.CompareUser(userKey, f.LargestUser()) > 0
}

// beforeFile reports whether userKey sorts before every key of f; a nil key is never before.
func (v *Version) beforeFile(userKey []byte, f *FileMetadata) bool {
	return userKey != nil && v.icmp.CompareUser(userKey, f.SmallestUser()) < 0
}

// Overlaps returns the files of level whose user-key range meets [smallestUser, largestUser].
// A nil bound is unbounded on that side; an empty non-nil slice is the empty key. For level 0
// the result is a new slice, in file-number order; for deeper levels it is a read-only view of
// a run of Levels[level] (appending to it copies). It returns nil when nothing overlaps.
//
// Unlike OverlappingInputs it does not widen the range by the level-0 files it finds: it answers
// "which files hold keys in this range", the question of reads and of CompactRange.
func (v *Version) Overlaps(level int, smallestUser, largestUser []byte) []*FileMetadata {
	files := v.Levels[level]
	if level == 0 {
		var out []*FileMetadata
		for _, f := range files {
			if !v.afterFile(smallestUser, f) && !v.beforeFile(largestUser, f) {
				out = append(out, f)
			}
		}
		return out
	}
	i := 0
	if smallestUser != nil {
		i = v.findFileUser(level, smallestUser)
	}
	j := i
	for j < len(files) && !v.beforeFile(largestUser, files[j]) {
		j++
	}
	if i == j {
		return nil
	}
	return files[i:j:j]
}

// OverlappingInputs returns, in a new slice the caller owns, the files of level that a
// compaction of [smallestUser, largestUser] must take, with leveldb's semantics
// (Version::GetOverlappingInputs): as Overlaps, except that in level 0 a file reaching past
// either bound widens the range to its own bound and the search starts over, so the result is
// closed under overlap. Leaving out a level-0 file that overlaps a chosen one would move an
// older entry of a key below a newer one that stayed behind.
func (v *Version) OverlappingInputs(level int, smallestUser, largestUser []byte) []*FileMetadata {
	files := v.Levels[level]
	var out []*FileMetadata
	for i := 0; i < len(files); {
		f := files[i]
		i++
		if v.afterFile(smallestUser, f) || v.beforeFile(largestUser, f) {
			continue
		}
		out = append(out, f)
		if level != 0 {
			continue
		}
		if smallestUser != nil && v.icmp.CompareUser(f.SmallestUser(), smallestUser) < 0 {
			smallestUser = f.SmallestUser()
			out, i = out[:0], 0
		} else if largestUser != nil && v.icmp.CompareUser(f.LargestUser(), largestUser) > 0 {
			largestUser = f.LargestUser()
			out, i = out[:0], 0
		}
	}
	return out
}

// OverlapInLevel reports whether any file of level meets [smallestUser, largestUser]; nil
// bounds are unbounded. It allocates nothing.
func (v *Version) OverlapInLevel(level int, smallestUser, largestUser []byte) bool {
	files := v.Levels[level]
	if level == 0 {
		for _, f := range files {
			if !v.afterFile(smallestUser, f) && !v.beforeFile(largestUser, f) {
				return true
			}
		}
		return false
	}
	i := 0
	if smallestUser != nil {
		i = v.findFileUser(level, smallestUser)
	}
	return i < len(files) && !v.beforeFile(largestUser, files[i])
}

// AppendCandidates appends to dst, in the order a point lookup must search them, the files that
// may hold the newest entry visible to lookupKey, an internal key (user key, the reader's
// sequence number, keys.KindMax): the level-0 files whose user-key range contains the user key,
// newest first, then at most one file per level from 1 to 6. It allocates nothing when dst has
// room for the result.
//
// In levels 1 and deeper the file is found with the whole internal key, as leveldb does, not
// the user key alone: when a compaction cut its output between two entries of one user key, the
// entries older than the reader's snapshot are in the second of the two files.
func (v *Version) AppendCandidates(dst []Candidate, lookupKey []byte) []Candidate {
	uk := keys.UserKey(lookupKey)
	l0 := v.Levels[0]
	for i := len(l0) - 1; i >= 0; i-- {
		f := l0[i]
		if !v.afterFile(uk, f) && !v.beforeFile(uk, f) {
			dst = append(dst, Candidate{Level: 0, File: f})
		}
	}
	for level := 1; level < NumLevels; level++ {
		files := v.Levels[level]
		if len(files) == 0 {
			continue
		}
		if i := v.FindFile(level, lookupKey); i < len(files) && !v.beforeFile(uk, files[i]) {
			dst = append(dst, Candidate{Level: level, File: files[i]})
		}
	}
	return dst
}

// PickLevelForMemTableOutput returns the level a table flushed from a memtable, holding user
// keys [smallestUser, largestUser], should be placed at: 0 if it overlaps level 0; otherwise
// it is pushed down one level at a time, to at most Options.MaxMemCompactLevel, while the next
// level holds nothing in its range and the level below that (the grandparent of the placement)
// holds at most maxGrandparentOverlapBytes in its range (normally
// Options.MaxGrandparentOverlapBytes). Placing a table deeper skips the compactions that would
// otherwise carry it there; the grandparent limit keeps its later compaction cheap.
func (v *Version) PickLevelForMemTableOutput(smallestUser, largestUser []byte, maxGrandparentOverlapBytes int64) int {
	level := 0
	if v.OverlapInLevel(0, smallestUser, largestUser) {
		return 0
	}
	for level < v.opts.MaxMemCompactLevel {
		if v.OverlapInLevel(level+1, smallestUser, largestUser) {
			break
		}
		if level+2 < NumLevels {
			overlap := totalSize(v.Overlaps(level+2, smallestUser, largestUser))
			if overlap > uint64(max(maxGrandparentOverlapBytes, 0)) {
				break
			}
		}
		level++
	}
	return level
}

// String prints the tree, one line per non-empty level, each file as FileMetadata.String
// prints it; an empty Version prints as "":
//
//	L0: 000007:[c#12,SET-d#13,SET]
//	L1: 000012:[a#5,SET-f#9,DEL] 000013:[g#2,SET-k#4,SET]
func (v *Version) String() string {
	var b strings.Builder
	for level, files := range v.Levels {
		if len(files) == 0 {
			continue
		}
		fmt.Fprintf(&b, "L%d:", level)
		for _, f := range files {
			b.WriteByte(' ')
			b.WriteString(f.String())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// DebugString prints the tree in more detail: per level its file count and bytes, then one file
// per line with its size, and the compaction score.
func (v *Version) DebugString() string {
	var b strings.Builder
	for level, files := range v.Levels {
		if len(files) == 0 {
			continue
		}
		plural := "s"
		if len(files) == 1 {
			plural = ""
		}
		fmt.Fprintf(&b, "L%d: %d file%s, %d bytes\n", level, len(files), plural, v.LevelBytes(level))
		for _, f := range files {
			fmt.Fprintf(&b, "  %s %d\n", f, f.Size)
		}
	}
	score, level := v.CompactionScore()
	fmt.Fprintf(&b, "compaction score %.3f at L%d\n", score, level)
	return b.String()
}
