package compaction

import (
	"github.com/stratadb/strata/internal/keys"
)

// Compaction is one unit of compaction work: files of Level and Level+1 merged into new files at
// Level+1 (the output level), cut where they would overlap too much of the level below the output
// (the grandparents). A rewrite (RewriteRange) is the exception: files of Level merged into new
// files at Level itself. A Compaction holds a reference to the Version it was picked from until
// Release.
type Compaction struct {
	Level        int
	Inputs       [2][]*FileMetadata // files of Level and of Level+1 (none for a rewrite)
	Grandparents []*FileMetadata    // files of OutputLevel()+1 overlapping the inputs' range
	Seek         bool               // picked because a file was searched too often
	Edit         VersionEdit        // the compact pointer now; the result is added by the runner

	outputLevel int
	version     *Version
	opts        *Options
	icmp        *keys.InternalComparator

	// ShouldStopBefore's walk over the grandparents, and its limit (computed once: it is asked
	// for every key the compaction writes).
	gpIndex    int
	seenKey    bool
	overlapped int64
	gpLimit    int64
	// IsBaseLevelForKey's position in each deeper level.
	levelPtrs [NumLevels]int
}

func newCompaction(v *Version, level int) *Compaction {
	v.Ref()
	return &Compaction{Level: level, outputLevel: level + 1, version: v, opts: v.opts, icmp: v.icmp,
		gpLimit: v.opts.MaxGrandparentOverlapBytes()}
}

// OutputLevel returns the level the compaction writes to: Level+1, or Level for a rewrite.
func (c *Compaction) OutputLevel() int { return c.outputLevel }

// Release drops the reference to the input Version.
func (c *Compaction) Release() {
	if c.version != nil {
		c.version.Unref()
		c.version = nil
	}
}

// InputBytes returns the total size of the input files.
func (c *Compaction) InputBytes() uint64 { return totalSize(c.Inputs[0]) + totalSize(c.Inputs[1]) }

// IsTrivialMove reports whether the compaction can move its single input file down a level by
// editing the MANIFEST alone: nothing at Level+1 overlaps it, and it does not overlap so much of
// Level+2 that its own later compaction would be expensive.
func (c *Compaction) IsTrivialMove() bool {
	return c.outputLevel == c.Level+1 && len(c.Inputs[0]) == 1 && len(c.Inputs[1]) == 0 &&
		int64(totalSize(c.Grandparents)) <= c.gpLimit
}

// AddInputDeletions records in edit the removal of every input file.
func (c *Compaction) AddInputDeletions(edit *VersionEdit) {
	for which, files := range c.Inputs {
		for _, f := range files {
			edit.DeleteFile(c.Level+which, f.Num)
		}
	}
}

// IsBaseLevelForKey reports whether no level below the output level can hold userKey, so that a
// deletion marker for it has nothing left to shadow and may be dropped. Calls must come in
// increasing key order (the compaction's output order): each level is walked once.
func (c *Compaction) IsBaseLevelForKey(userKey []byte) bool {
	for level := c.outputLevel + 1; level < NumLevels; level++ {
		files := c.version.Levels[level]
		for c.levelPtrs[level] < len(files) {
			f := files[c.levelPtrs[level]]
			if c.icmp.CompareUser(userKey, f.LargestUser()) <= 0 {
				if c.icmp.CompareUser(userKey, f.SmallestUser()) >= 0 {
					return false // userKey falls in f's range
				}
				break
			}
			c.levelPtrs[level]++
		}
	}
	return true
}

// ShouldStopBefore reports whether the output file being written should end before the
// internal key ikey, because it already overlaps more than MaxGrandparentOverlapBytes of the
// level below the output: a file that overlaps that much makes its own later compaction expensive. It must be
// called for every key, in order.
func (c *Compaction) ShouldStopBefore(ikey []byte) bool {
	for c.gpIndex < len(c.Grandparents) && c.icmp.Compare(ikey, c.Grandparents[c.gpIndex].Largest) > 0 {
		if c.seenKey {
			c.overlapped += int64(c.Grandparents[c.gpIndex].Size)
		}
		c.gpIndex++
	}
	c.seenKey = true
	if c.overlapped > c.gpLimit {
		c.overlapped = 0
		return true
	}
	return false
}

// PickCompaction returns the compaction the current Version needs most, or nil when none is
// needed. A size compaction (a level over its target, level 0 with too many files) comes before
// a seek compaction (a file searched past too often). Inputs of a size compaction start at the
// first file after the level's compact pointer, so successive compactions of a level walk its
// key space round-robin instead of hammering its start.
func (vs *VersionSet) PickCompaction() *Compaction {
	v := vs.current
	var c *Compaction
	if score, level := v.CompactionScore(); score >= 1 {
		c = newCompaction(v, level)
		ptr := vs.compactPointers[level]
		for _, f := range v.Levels[level] {
			if ptr == nil || vs.icmp.Compare(f.Largest, ptr) > 0 {
				c.Inputs[0] = []*FileMetadata{f}
				break
			}
		}
		if len(c.Inputs[0]) == 0 {
			c.Inputs[0] = []*FileMetadata{v.Levels[level][0]} // wrap around to the start
		}
	} else if f, level := v.SeekCandidate(); f != nil {
		c = newCompaction(v, level)
		c.Inputs[0] = []*FileMetadata{f}
		c.Seek = true
	} else {
		return nil
	}
	if c.Level == 0 {
		// Level-0 files overlap each other: take every one that overlaps the pick, transitively.
		smallest, largest := vs.userRange(c.Inputs[0])
		c.Inputs[0] = v.OverlappingInputs(0, smallest, largest)
	}
	vs.setupOtherInputs(c)
	return c
}

// CompactRange returns a compaction of the files of level overlapping the user-key range
// [begin, end] (nil = unbounded), or nil when there are none. Above level 0 it takes at most
// about one target file size of inputs, so a huge range is compacted in steps; the caller repeats
// from the largest key compacted.
func (vs *VersionSet) CompactRange(level int, begin, end []byte) *Compaction {
	v := vs.current
	inputs := v.OverlappingInputs(level, begin, end)
	if len(inputs) == 0 {
		return nil
	}
	if level > 0 {
		var total int64
		for i, f := range inputs {
			total += int64(f.Size)
			if total >= vs.opts.TargetFileSize {
				inputs = inputs[:i+1]
				break
			}
		}
	}
	c := newCompaction(v, level)
	c.Inputs[0] = inputs
	vs.setupOtherInputs(c)
	return c
}

// RewriteRange returns a compaction that rewrites in place, at level, files of level that overlap
// the user-key range [begin, end] (nil = unbounded) and are numbered below before: the first
// such run of adjacent files, about one target file size of them, plus any file that continues
// the run's last user key. It returns nil when there are none. CompactRange uses it on the
// deepest level it reaches, which no compaction from above rewrites: without it, deleted and
// overwritten entries that sit there together (a flushed memtable placed deep, versions a
// released snapshot kept) would keep taking space. Files numbered from before on are the ones
// this CompactRange already wrote. level must be 1 or deeper.
func (vs *VersionSet) RewriteRange(level int, begin, end []byte, before uint64) *Compaction {
	v := vs.current
	files := v.Overlaps(level, begin, end)
	for len(files) > 0 && files[0].Num >= before {
		files = files[1:]
	}
	var run []*FileMetadata
	var total int64
	for _, f := range files {
		if f.Num >= before || (len(run) > 0 && total >= vs.opts.TargetFileSize) {
			break
		}
		run = append(run, f)
		total += int64(f.Size)
	}
	if len(run) == 0 {
		return nil
	}
	c := newCompaction(v, level)
	c.outputLevel = level
	// A file that starts with the user key the run ends with must come along, or dropping a
	// deletion of that key could uncover an older entry of it in the file left behind.
	c.Inputs[0] = vs.addBoundaryInputs(v.Levels[level], append([]*FileMetadata(nil), run...))
	if level+1 < NumLevels {
		smallest, largest := vs.userRange(c.Inputs[0])
		c.Grandparents = v.Overlaps(level+1, smallest, largest)
	}
	return c
}

// setupOtherInputs completes a compaction whose Inputs[0] are chosen: it adds the files of
// Level+1 in range, grows Inputs[0] when that takes in more of Level without growing Inputs[1],
// finds the grandparents, and records the new compact pointer.
func (vs *VersionSet) setupOtherInputs(c *Compaction) {
	v, level := c.version, c.Level
	c.Inputs[0] = vs.addBoundaryInputs(v.Levels[level], c.Inputs[0])
	smallest, largest := vs.internalRange(c.Inputs[0])
	c.Inputs[1] = vs.addBoundaryInputs(v.Levels[level+1],
		v.OverlappingInputs(level+1, keys.UserKey(smallest), keys.UserKey(largest)))
	allStart, allLimit := vs.internalRange(c.Inputs[0], c.Inputs[1])

	if len(c.Inputs[1]) > 0 {
		// Taking more of Level is free when it does not pull in more of Level+1, as long as the
		// whole compaction stays under the expansion limit (25 target files by default).
		expanded0 := vs.addBoundaryInputs(v.Levels[level],
			v.OverlappingInputs(level, keys.UserKey(allStart), keys.UserKey(allLimit)))
		size1, sizeExp0 := totalSize(c.Inputs[1]), totalSize(expanded0)
		if len(expanded0) > len(c.Inputs[0]) && int64(size1+sizeExp0) < vs.opts.ExpandedCompactionByteSizeLimit() {
			newStart, newLimit := vs.internalRange(expanded0)
			expanded1 := vs.addBoundaryInputs(v.Levels[level+1],
				v.OverlappingInputs(level+1, keys.UserKey(newStart), keys.UserKey(newLimit)))
			if len(expanded1) == len(c.Inputs[1]) {
				vs.logf("expanding compaction at level %d from %d+%d to %d+%d files",
					level, len(c.Inputs[0]), len(c.Inputs[1]), len(expanded0), len(expanded1))
				largest = newLimit
				c.Inputs[0], c.Inputs[1] = expanded0, expanded1
				allStart, allLimit = vs.internalRange(c.Inputs[0], c.Inputs[1])
			}
		}
	}
	if level+2 < NumLevels {
		c.Grandparents = v.Overlaps(level+2, keys.UserKey(allStart), keys.UserKey(allLimit))
	}
	// The next size compaction of this level starts after this one.
	c.Edit.AddCompactPointer(level, largest)
}

// addBoundaryInputs adds to picked the files of levelFiles that begin with the same user key as
// picked ends with (a compaction may have cut its output between two entries of one user key,
// the newer ones in the first file). Moving the first file down without the second would put
// the newer entries below the older ones, and a read, which searches levels top down, would find
// the older entry first.
func (vs *VersionSet) addBoundaryInputs(levelFiles, picked []*FileMetadata) []*FileMetadata {
	if len(picked) == 0 {
		return picked
	}
	_, largest := vs.internalRange(picked)
	for {
		var next *FileMetadata
		for _, f := range levelFiles {
			if vs.icmp.Compare(f.Smallest, largest) > 0 &&
				vs.icmp.CompareUser(f.SmallestUser(), keys.UserKey(largest)) == 0 &&
				(next == nil || vs.icmp.Compare(f.Smallest, next.Smallest) < 0) {
				next = f
			}
		}
		if next == nil {
			return picked
		}
		picked = append(picked, next)
		largest = next.Largest
	}
}

// internalRange returns the smallest and largest internal keys of the files.
func (vs *VersionSet) internalRange(sets ...[]*FileMetadata) (smallest, largest []byte) {
	for _, files := range sets {
		for _, f := range files {
			if smallest == nil || vs.icmp.Compare(f.Smallest, smallest) < 0 {
				smallest = f.Smallest
			}
			if largest == nil || vs.icmp.Compare(f.Largest, largest) > 0 {
				largest = f.Largest
			}
		}
	}
	return smallest, largest
}

// userRange returns the user-key range of the files.
func (vs *VersionSet) userRange(files []*FileMetadata) (smallest, largest []byte) {
	s, l := vs.internalRange(files)
	return keys.UserKey(s), keys.UserKey(l)
}
