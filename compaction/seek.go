package compaction

// seekCandidate is a file chosen for a seek compaction.
type seekCandidate struct {
	file  *FileMetadata
	level int
}

// RecordSeek charges f, at level, for one lookup that searched it without finding its answer
// there and had to go on to another file. When f's allowed seeks (see allowedSeeks) run out and
// the Version has no seek candidate yet, f becomes the candidate for a seek compaction and
// RecordSeek returns true: the caller should wake the background compaction. Safe for concurrent
// use without the DB's mutex.
func (v *Version) RecordSeek(f *FileMetadata, level int) bool {
	if f.AllowedSeeks.Add(-1) > 0 || v.seek.Load() != nil {
		return false
	}
	return v.seek.CompareAndSwap(nil, &seekCandidate{file: f, level: level})
}

// SeekCandidate returns the file chosen for a seek compaction and its level, or nil.
func (v *Version) SeekCandidate() (*FileMetadata, int) {
	c := v.seek.Load()
	if c == nil {
		return nil, 0
	}
	return c.file, c.level
}

// NeedsCompaction reports whether PickCompaction would return a compaction for this Version.
func (v *Version) NeedsCompaction() bool {
	return v.compactionScore >= 1 || v.seek.Load() != nil
}
