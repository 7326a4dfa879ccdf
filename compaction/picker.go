package compaction

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stratadb/strata/internal/keys"
)

// Compaction is one unit of compaction work: files of Level and Level+1 merged into new files at
// Level+1 (the output level), cut where they would overlap too much of the level below the output
// (the grandparents). A step of CompactRange may merge more levels at once: the files of Level
// to OutputLevel() into new files at OutputLevel() (see VersionSet.CompactRange). A Compaction
// holds a reference to the Version it was picked from until Release.
type Compaction struct {
	Level        int
	Inputs       [][]*FileMetadata // Inputs[i]: the files of Level+i, for each level to the output
	Grandparents []*FileMetadata   // files of OutputLevel()+1 overlapping the inputs' range
	Seek         bool              // picked because a file was searched too often
	Edit         VersionEdit       // the compact pointer now; the result is added by the runner
	// Last and Resume are for a step of CompactRange: Last reports that the range needs no
	// further step; otherwise the next step starts from the user key Resume (nil: from the
	// range's unbounded start).
	Last   bool
	Resume []byte

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
	return &Compaction{Level: level, Inputs: make([][]*FileMetadata, 2), outputLevel: level + 1,
		version: v, opts: v.opts, icmp: v.icmp, gpLimit: v.opts.MaxGrandparentOverlapBytes()}
}

// OutputLevel returns the level the compaction writes to: Level+1, or deeper for a step of
// CompactRange that merges several levels.
func (c *Compaction) OutputLevel() int { return c.outputLevel }

// Release drops the reference to the input Version.
func (c *Compaction) Release() {
	if c.version != nil {
		c.version.Unref()
		c.version = nil
	}
}

// InputBytes returns the total size of the input files.
func (c *Compaction) InputBytes() uint64 {
	var n uint64
	for _, files := range c.Inputs {
		n += totalSize(files)
	}
	return n
}

// String describes the inputs for the info log, such as "4@0 + 5@1 files".
func (c *Compaction) String() string {
	var b strings.Builder
	for i, files := range c.Inputs {
		if i > 0 {
			b.WriteString(" + ")
		}
		fmt.Fprintf(&b, "%d@%d", len(files), c.Level+i)
	}
	b.WriteString(" files")
	return b.String()
}

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

// SplitKeys returns at most n-1 user keys, increasing, that cut the compaction into n parts of
// about equal size for subcompactions: part i holds the user keys from SplitKeys[i-1] (the start
// for i = 0) up to but not including SplitKeys[i] (the end for the last part). It cuts only at
// the start of a file of the output level's inputs, weighed by their sizes (level-0 files span
// the key space, so they do not show where the data is), and returns nil when those inputs are
// fewer than two files. Every version of a user key falls in one part.
func (c *Compaction) SplitKeys(n int) [][]byte {
	files := c.Inputs[len(c.Inputs)-1]
	if n < 2 || len(files) < 2 {
		return nil
	}
	total := totalSize(files)
	var (
		splits [][]byte
		acc    uint64
	)
	for i := 0; i+1 < len(files) && len(splits) < n-1; i++ {
		acc += files[i].Size
		if acc*uint64(n) >= total*uint64(len(splits)+1) {
			k := files[i+1].SmallestUser()
			if len(splits) == 0 || c.icmp.CompareUser(k, splits[len(splits)-1]) > 0 {
				splits = append(splits, k)
			}
		}
	}
	return splits
}

// Part returns a copy of c for one part of a subcompaction (see SplitKeys): the same inputs,
// Version and edit, with its own state for ShouldStopBefore and IsBaseLevelForKey, which must
// then see only the part's keys, in order. The copy shares c's reference to the Version: it must
// not be released, nor used after c is.
func (c *Compaction) Part() *Compaction {
	p := *c
	p.gpIndex, p.seenKey, p.overlapped = 0, false, 0
	p.levelPtrs = [NumLevels]int{}
	return &p
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

// CompactRange returns the next step of compacting the user-key range [begin, end] (nil is
// unbounded) down to level bottom, the deepest level holding keys in the range, so that the
// range's overwritten and deleted entries stop taking space. It returns nil when no step is left.
//
// A step merges, in one pass, the files of every level from 0 to bottom that overlap its range
// into new files at bottom. Merging level by level instead, as leveldb does, writes the range's
// data once per level it passes: level 0 into 1, then all of 1 into 2, and so on. The range is
// cut into steps along bottom's files, about half of MaxRangeStepBytes of them at a time; files
// numbered from before on are this CompactRange's own outputs and mark no new step. Each level's
// inputs widen the range for the levels below it, so an entry never moves below an older entry
// of its key: any file a step leaves behind at level L lies outside every key taken from above L.
//
// A step holds all its inputs until it ends. When one would take more than MaxRangeStepBytes
// (wide level-0 files pull every file below them into it), the step is instead the old kind: the
// topmost level holding files in the range compacted into the next (at most one target file size
// of inputs above level 0), after which the range is asked again from the same begin.
//
// The step's Last reports that nothing of the range is left after it; otherwise the next call
// starts from Resume.
func (vs *VersionSet) CompactRange(bottom int, begin, end []byte, before uint64) *Compaction {
	v := vs.current
	// The step's range: up to half a step's bytes of bottom's files, ending at a file boundary.
	var stepEnd []byte
	last := true
	var total int64
	chunk := 0
	for _, f := range v.Overlaps(bottom, begin, end) {
		if f.Num >= before {
			continue
		}
		if total >= vs.opts.MaxRangeStepBytes()/2 {
			last = false
			break
		}
		total += int64(f.Size)
		stepEnd = f.LargestUser()
		chunk++
	}
	if last {
		stepEnd = end
	}
	inputs := make([][]*FileMetadata, bottom+1)
	lo, hi := begin, stepEnd
	for level := 0; level <= bottom; level++ {
		in := vs.addBoundaryInputs(v.Levels[level], v.OverlappingInputs(level, lo, hi))
		inputs[level] = in
		if len(in) == 0 {
			continue
		}
		smallest, largest := vs.userRange(in)
		if lo != nil && vs.icmp.CompareUser(smallest, lo) < 0 {
			lo = smallest
		}
		if hi != nil && vs.icmp.CompareUser(largest, hi) > 0 {
			hi = largest
		}
	}
	top := slices.IndexFunc(inputs, func(in []*FileMetadata) bool { return len(in) > 0 })
	if top < 0 || chunk == 0 && top == bottom {
		return nil // nothing, or only bottom's files of this call, which are its own outputs
	}
	c := newCompaction(v, top)
	c.Inputs = inputs[top:]
	c.outputLevel = bottom
	if int64(c.InputBytes()) > vs.opts.MaxRangeStepBytes() && top < bottom {
		c.Release()
		c = vs.compactLevelRange(top, begin, end)
		c.Resume = begin
		return c
	}
	if bottom+1 < NumLevels {
		smallest, largest := vs.internalRange(c.Inputs...)
		c.Grandparents = v.Overlaps(bottom+1, keys.UserKey(smallest), keys.UserKey(largest))
	}
	c.Last = last
	if !last {
		_, largest := vs.internalRange(c.Inputs...)
		c.Resume = keys.UserKey(largest)
	}
	return c
}

// compactLevelRange returns a compaction of the files of level overlapping the user-key range
// [begin, end] (nil = unbounded) into level+1, with what they need at level+1; level must hold
// some. Above level 0 it takes at most about one target file size of inputs, so that a huge
// range does not make one huge compaction. Level 0 is never cut: its overlapping files must move
// together, or an older entry could land below a newer one left behind.
func (vs *VersionSet) compactLevelRange(level int, begin, end []byte) *Compaction {
	v := vs.current
	inputs := v.OverlappingInputs(level, begin, end)
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
