package compaction

// Options holds the shape of the level tree: the triggers and target sizes that decide when a
// level needs compaction and where a flushed memtable goes. The zero value of a field means
// leveldb 1.23's default for it; DefaultOptions spells them out. The DB passes its own Options
// to Create and Recover.
type Options struct {
	// L0CompactionTrigger is the number of level-0 files at which level 0's compaction score
	// reaches 1. Default 4.
	L0CompactionTrigger int
	// L0SlowdownWritesTrigger is the number of level-0 files at which the DB delays each write
	// by 1 ms. Default 8.
	L0SlowdownWritesTrigger int
	// L0StopWritesTrigger is the number of level-0 files at which the DB stops writes until
	// compaction catches up. Default 12.
	L0StopWritesTrigger int
	// MaxMemCompactLevel is the deepest level a flushed memtable may be placed at when it
	// overlaps nothing above it (see Version.PickLevelForMemTableOutput). leveldb uses 2: deeper
	// would save more compaction work for a sequential load but leave the level tree lopsided
	// when keys are overwritten later. Default 2.
	MaxMemCompactLevel int
	// TargetFileSize is the size at which compaction cuts its output tables. Default 2 MiB.
	TargetFileSize int64
	// MaxBytesForLevelBase is the target size of level 1. Default 10 MiB.
	MaxBytesForLevelBase int64
	// LevelSizeMultiplier is the growth of the target size from one level to the next.
	// Default 10.
	LevelSizeMultiplier int
	// Logf, if set, receives the VersionSet's messages for the info log (recovery, MANIFEST
	// errors). It may be called with the DB's mutex held or not, and must not call back into
	// the VersionSet.
	Logf func(format string, args ...any)
}

// leveldb 1.23's defaults (db/dbformat.h, include/leveldb/options.h).
const (
	defaultL0CompactionTrigger     = 4
	defaultL0SlowdownWritesTrigger = 8
	defaultL0StopWritesTrigger     = 12
	defaultMaxMemCompactLevel      = 2
	defaultTargetFileSize          = 2 << 20
	defaultMaxBytesForLevelBase    = 10 << 20
	defaultLevelSizeMultiplier     = 10
)

// DefaultOptions returns leveldb 1.23's level shape.
func DefaultOptions() *Options {
	o := Options{}.normalized()
	return &o
}

// normalized returns o with every zero or negative field set to its default.
func (o Options) normalized() Options {
	setDefault(&o.L0CompactionTrigger, defaultL0CompactionTrigger)
	setDefault(&o.L0SlowdownWritesTrigger, defaultL0SlowdownWritesTrigger)
	setDefault(&o.L0StopWritesTrigger, defaultL0StopWritesTrigger)
	setDefault(&o.MaxMemCompactLevel, defaultMaxMemCompactLevel)
	setDefault(&o.TargetFileSize, defaultTargetFileSize)
	setDefault(&o.MaxBytesForLevelBase, defaultMaxBytesForLevelBase)
	setDefault(&o.LevelSizeMultiplier, defaultLevelSizeMultiplier)
	if o.MaxMemCompactLevel >= NumLevels {
		o.MaxMemCompactLevel = NumLevels - 1
	}
	return o
}

// normalizedOptions is normalized for a possibly nil *Options.
func normalizedOptions(o *Options) Options {
	if o == nil {
		return Options{}.normalized()
	}
	return o.normalized()
}

func setDefault[T int | int64](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

// MaxBytesForLevel returns the target size of a level: MaxBytesForLevelBase for level 1, times
// LevelSizeMultiplier for each level below it. With the defaults: 10 MiB, 100 MiB, 1 GiB, and
// so on. Level 0 is limited by its file count instead (L0CompactionTrigger); for it the result
// is level 1's. It is a float64, as leveldb's is a double, because it only ever divides a level's
// size into a compaction score.
func (o *Options) MaxBytesForLevel(level int) float64 {
	n := normalizedOptions(o)
	r := float64(n.MaxBytesForLevelBase)
	for ; level > 1; level-- {
		r *= float64(n.LevelSizeMultiplier)
	}
	return r
}

// MaxGrandparentOverlapBytes is how much of level N+2 one output table of a compaction into
// level N+1 may overlap before compaction cuts the output early, and how much of level N+2 a
// flushed memtable placed at level N may overlap: 10 target files. More overlap would make the
// later compaction of that table into level N+2 expensive.
func (o *Options) MaxGrandparentOverlapBytes() int64 {
	return 10 * normalizedOptions(o).TargetFileSize
}

// ExpandedCompactionByteSizeLimit bounds the total input of a compaction when it grows its
// level-N inputs without changing its level-N+1 inputs: 25 target files.
func (o *Options) ExpandedCompactionByteSizeLimit() int64 {
	return 25 * normalizedOptions(o).TargetFileSize
}

// MaxRangeStepBytes bounds the input of one step of CompactRange that merges several levels in
// one pass (VersionSet.CompactRange): 100 target files, 200 MiB by default. Such a step keeps all
// its inputs on disk until it ends, beside its outputs; a range holding more is first compacted
// level by level, whose steps are small and free their inputs as they go.
func (o *Options) MaxRangeStepBytes() int64 {
	return 100 * normalizedOptions(o).TargetFileSize
}
