package compaction

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Seek compaction. A lookup that reads a file without finding its key there wastes a seek; once
// a file has wasted enough of them, compacting it into the next level is cheaper than going on
// paying for them. leveldb's arithmetic, which we keep:
//
//   - one seek costs about 10 ms, in which a 100 MB/s disk transfers about 1 MB;
//   - compacting 1 MB of a file costs about 25 MB of I/O: read the 1 MB, read the 10 to 12 MB of
//     the next level it overlaps (levels grow x10), write those 10 to 12 MB back;
//   - so 25 seeks cost as much as compacting 1 MB: one seek is worth about 40 KB of compaction.
//
// leveldb errs on the side of compacting early and allows one seek per 16 KiB instead of 40 KB,
// with a floor of 100 so that a small file is not compacted after a handful of misses.
const (
	seekCompactionBytesPerSeek = 16 << 10
	minAllowedSeeks            = 100
)

func allowedSeeks(size uint64) int64 {
	return max(int64(size/seekCompactionBytesPerSeek), minAllowedSeeks)
}

// builder applies a sequence of edits to a base Version and builds the result without
// touching the base. A replay of a MANIFEST (replay.go) feeds it every edit; LogAndApply feeds
// it one.
//
// What the builder refuses it describes as a ReplayProblem and passes to a problemFunc, which
// decides: stop with an error (apply and build, for recovery and LogAndApply), or skip the
// change and go on (the tolerant replay of repair and tools).
type builder struct {
	icmp   *keys.InternalComparator
	opts   *Options
	base   *Version
	levels [NumLevels]levelChange
	// where maps the number of every file in the result so far to its level; built from the
	// base on first use.
	where map[uint64]int
	// unordered: the files' keys follow a comparator other than icmp's (a tool reading any DB's
	// MANIFEST), so they are sorted by icmp but not checked for order.
	unordered bool
}

type levelChange struct {
	deleted map[uint64]struct{}      // files of the base removed from this level
	added   map[uint64]*FileMetadata // files added by the edits (and not removed again)
}

// problemFunc receives a change the builder refuses. It returns nil to have the change skipped
// and the work go on, or an error to stop with.
type problemFunc func(p *ReplayProblem) error

// stopAtProblem stops at the first problem, with the problem as the error.
func stopAtProblem(p *ReplayProblem) error { return p }

// newBuilder returns a builder on base; a nil base is the empty Version.
func newBuilder(icmp *keys.InternalComparator, opts *Options, base *Version) *builder {
	if base == nil {
		base = &Version{icmp: icmp, opts: opts}
	}
	return &builder{icmp: icmp, opts: opts, base: base}
}

func (b *builder) locate() map[uint64]int {
	if b.where == nil {
		b.where = make(map[uint64]int)
		for level, files := range b.base.Levels {
			for _, f := range files {
				b.where[f.Num] = level
			}
		}
	}
	return b.where
}

// apply adds edit to the builder: its deletions first, then its additions, as leveldb does (so
// an edit may move a file from one level to another). It fails, leaving the builder unusable,
// when the edit deletes a file that is not at that level, adds a file whose number is already
// present, or adds a file whose keys are not internal keys in order.
func (b *builder) apply(edit *VersionEdit) error { return b.applyEach(edit, stopAtProblem) }

// applyEach is apply, passing each change it refuses to bad: the change is skipped when bad
// returns nil.
func (b *builder) applyEach(edit *VersionEdit, bad problemFunc) error {
	where := b.locate()
	for _, d := range edit.SortedDeletions() {
		level, ok := where[d.Num]
		if !ok || level != d.Level {
			if err := bad(&ReplayProblem{Kind: ProblemDeleteAbsent, Offset: dberr.NoOffset, Num: d.Num, Level: d.Level,
				Reason: fmt.Sprintf("edit deletes file %06d from L%d, which does not hold it", d.Num, d.Level)}); err != nil {
				return err
			}
			continue
		}
		delete(where, d.Num)
		lc := &b.levels[level]
		if _, ok := lc.added[d.Num]; ok {
			delete(lc.added, d.Num)
			continue
		}
		if lc.deleted == nil {
			lc.deleted = make(map[uint64]struct{})
		}
		lc.deleted[d.Num] = struct{}{}
	}
	for _, nf := range edit.NewFiles {
		if p := b.checkAdd(nf); p != nil {
			if err := bad(p); err != nil {
				return err
			}
			continue
		}
		m := nf.Meta
		// A copy, so the Version never shares the edit's mutable AllowedSeeks, and the count
		// starts afresh when a file moves to another level.
		f := &FileMetadata{Num: m.Num, Size: m.Size, Smallest: m.Smallest, Largest: m.Largest}
		f.AllowedSeeks.Store(allowedSeeks(f.Size))
		where[m.Num] = nf.Level
		lc := &b.levels[nf.Level]
		if lc.added == nil {
			lc.added = make(map[uint64]*FileMetadata)
		}
		lc.added[m.Num] = f
	}
	return nil
}

// checkAdd returns what is wrong with adding nf, or nil.
func (b *builder) checkAdd(nf NewFile) *ReplayProblem {
	m := nf.Meta
	p := &ReplayProblem{Kind: ProblemAddInvalid, Offset: dberr.NoOffset, Num: m.Num, Level: nf.Level, File: m}
	switch level, held := b.where[m.Num]; {
	case nf.Level < 0 || nf.Level >= NumLevels:
		p.Reason = fmt.Sprintf("edit adds file %06d to level %d (levels are 0 to %d)", m.Num, nf.Level, NumLevels-1)
	case held:
		p.Kind, p.Held = ProblemAddPresent, level
		p.Reason = fmt.Sprintf("edit adds file %06d to L%d, but L%d already holds it", m.Num, nf.Level, level)
	case len(m.Smallest) < keys.TrailerLen || len(m.Largest) < keys.TrailerLen:
		p.Reason = fmt.Sprintf("edit adds file %06d with a key too short to be an internal key", m.Num)
	case !b.unordered && b.icmp.Compare(m.Smallest, m.Largest) > 0:
		p.Reason = fmt.Sprintf("edit adds file %s whose smallest key sorts after its largest", m)
	default:
		return nil
	}
	return p
}

// build returns the Version the applied edits lead to, with its compaction score computed.
// Levels nothing changed share the base's slices (Versions never modify them). It fails when a
// level from 1 down would hold overlapping files.
func (b *builder) build() (*Version, error) { return b.buildEach(stopAtProblem) }

// buildEach is build, passing each pair of overlapping neighbours to bad: they stay in the
// Version when bad returns nil.
func (b *builder) buildEach(bad problemFunc) (*Version, error) {
	v := &Version{icmp: b.icmp, opts: b.opts}
	for level := range v.Levels {
		lc := &b.levels[level]
		base := b.base.Levels[level]
		if len(lc.deleted) == 0 && len(lc.added) == 0 {
			v.Levels[level] = base
			continue
		}
		files := make([]*FileMetadata, 0, len(base)-len(lc.deleted)+len(lc.added))
		for _, f := range base {
			if _, ok := lc.deleted[f.Num]; !ok {
				files = append(files, f)
			}
		}
		for _, f := range lc.added {
			files = append(files, f)
		}
		if len(files) == 0 {
			files = nil
		}
		v.Levels[level] = files
		if level == 0 {
			slices.SortFunc(files, func(x, y *FileMetadata) int { return cmp.Compare(x.Num, y.Num) })
			continue
		}
		slices.SortFunc(files, func(x, y *FileMetadata) int {
			if c := b.icmp.Compare(x.Smallest, y.Smallest); c != 0 {
				return c
			}
			return cmp.Compare(x.Num, y.Num)
		})
		if err := b.checkOverlaps(level, files, bad); err != nil {
			return nil, err
		}
	}
	v.finalize()
	return v, nil
}

// checkOverlaps passes each pair of neighbours of files, sorted level files, that overlap to bad.
func (b *builder) checkOverlaps(level int, files []*FileMetadata, bad problemFunc) error {
	if b.unordered {
		return nil
	}
	for i := 1; i < len(files); i++ {
		x, y := files[i-1], files[i]
		if b.icmp.Compare(x.Largest, y.Smallest) < 0 {
			continue
		}
		if err := bad(&ReplayProblem{Kind: ProblemOverlap, Offset: dberr.NoOffset, Level: level, File: x, Other: y,
			Reason: fmt.Sprintf("L%d would hold overlapping files %s and %s", level, x, y)}); err != nil {
			return err
		}
	}
	return nil
}
