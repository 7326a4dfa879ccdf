package compaction

// A VersionEdit is one record of the MANIFEST: the difference between two Versions, plus the
// counters the VersionSet persists. Byte layout (docs/format/manifest.md has the full grammar):
//
//	edit        := field*
//	field       := tag:varint32 body
//	comparator  := 1  name:bytes
//	log number  := 2  num:varint64
//	next file   := 3  num:varint64
//	last seq    := 4  seq:varint64
//	compact ptr := 5  level:varint32 key:bytes
//	deleted     := 6  level:varint32 num:varint64
//	new file    := 7  level:varint32 num:varint64 size:varint64 smallest:bytes largest:bytes
//	prev log    := 9  num:varint64
//	bytes       := len:varint32 u8[len]
//
// Encode writes the fields in leveldb's order (comparator, log, prev log, next file, last
// sequence, compact pointers, deleted files sorted by (level, number), new files), so an edit
// encodes to the bytes C++ leveldb 1.23 writes for it.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Tags of VersionEdit fields. They are part of the on-disk format (leveldb 1.23's values):
// never change them, and never reuse a retired one.
const (
	tagComparator     = 1
	tagLogNumber      = 2
	tagNextFileNumber = 3
	tagLastSequence   = 4
	tagCompactPointer = 5
	tagDeletedFile    = 6
	tagNewFile        = 7
	// 8 is retired: early leveldb recorded "large value refs" under it. No release since
	// writes it; a MANIFEST holding it is rejected as an unknown tag, as leveldb does.
	tagPrevLogNumber = 9
)

// FileMetadata describes one table file of a Version. Everything but AllowedSeeks is immutable
// once the file is part of a Version, and the key slices must not be modified by anyone.
type FileMetadata struct {
	Num      uint64 // file number: the table is filenames.Name(filenames.Table, Num)
	Size     uint64 // file size in bytes
	Smallest []byte // smallest internal key in the table
	Largest  []byte // largest internal key in the table

	// AllowedSeeks counts down the lookups that may still pass through this file without
	// finding their key before it deserves a compaction (leveldb's seek compaction; the
	// VersionSet sets the starting value when the file enters a Version).
	AllowedSeeks atomic.Int64
}

// SmallestUser returns the user key of Smallest.
func (f *FileMetadata) SmallestUser() []byte { return keys.UserKey(f.Smallest) }

// LargestUser returns the user key of Largest.
func (f *FileMetadata) LargestUser() []byte { return keys.UserKey(f.Largest) }

// String prints the file as `000012:[a#5,SET-f#9,DEL]`.
func (f *FileMetadata) String() string {
	return fmt.Sprintf("%06d:[%s-%s]", f.Num, keys.FormatInternalKey(f.Smallest), keys.FormatInternalKey(f.Largest))
}

// CompactPointer records where the next size compaction of Level starts: after Key, an
// internal key.
type CompactPointer struct {
	Level int
	Key   []byte
}

// DeletedFile names a file removed from a level.
type DeletedFile struct {
	Level int
	Num   uint64
}

// NewFile is a file added to a level.
type NewFile struct {
	Level int
	Meta  *FileMetadata
}

// VersionEdit is a change to a Version and to the VersionSet's counters. The zero value is an
// empty edit. A field is present only when its Has flag is set (the setters set it).
type VersionEdit struct {
	Comparator  string // name of the user comparator
	LogNum      uint64 // logs numbered below this are no longer needed
	PrevLogNum  uint64 // a log still being flushed when LogNum was written (leveldb's, now always 0)
	NextFileNum uint64 // the next file number the VersionSet may hand out
	LastSeq     keys.SeqNum

	HasComparator, HasLogNum, HasPrevLogNum, HasNextFileNum, HasLastSeq bool

	CompactPointers []CompactPointer
	// DeletedFiles is a set, as in leveldb: deleting the same file twice in one edit is one
	// deletion. Encode writes it sorted by (level, number).
	DeletedFiles map[DeletedFile]struct{}
	NewFiles     []NewFile
}

// SetComparator records the user comparator's name.
func (e *VersionEdit) SetComparator(name string) { e.Comparator, e.HasComparator = name, true }

// SetLogNum records the log number.
func (e *VersionEdit) SetLogNum(n uint64) { e.LogNum, e.HasLogNum = n, true }

// SetPrevLogNum records the previous log number.
func (e *VersionEdit) SetPrevLogNum(n uint64) { e.PrevLogNum, e.HasPrevLogNum = n, true }

// SetNextFileNum records the next file number.
func (e *VersionEdit) SetNextFileNum(n uint64) { e.NextFileNum, e.HasNextFileNum = n, true }

// SetLastSeq records the last sequence number.
func (e *VersionEdit) SetLastSeq(s keys.SeqNum) { e.LastSeq, e.HasLastSeq = s, true }

// AddCompactPointer records that the next compaction of level starts after the internal key.
func (e *VersionEdit) AddCompactPointer(level int, key []byte) {
	e.CompactPointers = append(e.CompactPointers, CompactPointer{Level: level, Key: key})
}

// DeleteFile records the removal of file num from level.
func (e *VersionEdit) DeleteFile(level int, num uint64) {
	if e.DeletedFiles == nil {
		e.DeletedFiles = make(map[DeletedFile]struct{})
	}
	e.DeletedFiles[DeletedFile{Level: level, Num: num}] = struct{}{}
}

// AddFile records the addition of a file to level. The edit keeps meta; its keys must not be
// modified afterwards.
func (e *VersionEdit) AddFile(level int, meta *FileMetadata) {
	e.NewFiles = append(e.NewFiles, NewFile{Level: level, Meta: meta})
}

// SortedDeletions returns the deleted files in leveldb's order: by level, then number.
func (e *VersionEdit) SortedDeletions() []DeletedFile {
	ds := make([]DeletedFile, 0, len(e.DeletedFiles))
	for d := range e.DeletedFiles {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b DeletedFile) int {
		if c := cmp.Compare(a.Level, b.Level); c != 0 {
			return c
		}
		return cmp.Compare(a.Num, b.Num)
	})
	return ds
}

// Encode appends the edit's encoding to dst and returns the extended slice.
func (e *VersionEdit) Encode(dst []byte) []byte {
	if e.HasComparator {
		dst = coding.AppendVarint32(dst, tagComparator)
		dst = coding.AppendLengthPrefixed(dst, []byte(e.Comparator))
	}
	if e.HasLogNum {
		dst = coding.AppendVarint32(dst, tagLogNumber)
		dst = coding.AppendVarint64(dst, e.LogNum)
	}
	if e.HasPrevLogNum {
		dst = coding.AppendVarint32(dst, tagPrevLogNumber)
		dst = coding.AppendVarint64(dst, e.PrevLogNum)
	}
	if e.HasNextFileNum {
		dst = coding.AppendVarint32(dst, tagNextFileNumber)
		dst = coding.AppendVarint64(dst, e.NextFileNum)
	}
	if e.HasLastSeq {
		dst = coding.AppendVarint32(dst, tagLastSequence)
		dst = coding.AppendVarint64(dst, uint64(e.LastSeq))
	}
	for _, cp := range e.CompactPointers {
		dst = coding.AppendVarint32(dst, tagCompactPointer)
		dst = coding.AppendVarint32(dst, uint32(cp.Level))
		dst = coding.AppendLengthPrefixed(dst, cp.Key)
	}
	for _, d := range e.SortedDeletions() {
		dst = coding.AppendVarint32(dst, tagDeletedFile)
		dst = coding.AppendVarint32(dst, uint32(d.Level))
		dst = coding.AppendVarint64(dst, d.Num)
	}
	for _, nf := range e.NewFiles {
		dst = coding.AppendVarint32(dst, tagNewFile)
		dst = coding.AppendVarint32(dst, uint32(nf.Level))
		dst = coding.AppendVarint64(dst, nf.Meta.Num)
		dst = coding.AppendVarint64(dst, nf.Meta.Size)
		dst = coding.AppendLengthPrefixed(dst, nf.Meta.Smallest)
		dst = coding.AppendLengthPrefixed(dst, nf.Meta.Largest)
	}
	return dst
}

// editDecoder reads the fields of one encoded edit. The first failure sticks in err.
type editDecoder struct {
	src    []byte
	pos    int
	file   string
	offset int64
	err    error
}

func (d *editDecoder) fail(field, what string) {
	if d.err == nil {
		d.err = dberr.Corruptf(d.file, d.offset, "version edit: %s %s at byte %d of the %d-byte record",
			field, what, d.pos, len(d.src))
	}
}

func (d *editDecoder) varint64(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := coding.Varint64(d.src[d.pos:])
	if n <= 0 {
		d.fail(field, badVarint(n))
		return 0
	}
	d.pos += n
	return v
}

func (d *editDecoder) level(field string) int {
	if d.err != nil {
		return 0
	}
	v, n := coding.Varint32(d.src[d.pos:])
	if n <= 0 {
		d.fail(field+" level", badVarint(n))
		return 0
	}
	if v >= NumLevels {
		d.fail(field, fmt.Sprintf("has level %d (levels are 0 to %d)", v, NumLevels-1))
		return 0
	}
	d.pos += n
	return int(v)
}

func (d *editDecoder) bytes(field string) []byte {
	if d.err != nil {
		return nil
	}
	s, n, ok := coding.LengthPrefixed(d.src[d.pos:])
	if !ok {
		d.fail(field, "is truncated or has a bad length")
		return nil
	}
	d.pos += n
	return s
}

// internalKey reads a length-prefixed internal key and copies it out of the record, which the
// log reader reuses.
func (d *editDecoder) internalKey(field string) []byte {
	start := d.pos
	s := d.bytes(field)
	if d.err != nil {
		return nil
	}
	if len(s) < keys.TrailerLen {
		d.pos = start
		d.fail(field, fmt.Sprintf("is a %d-byte key, too short for an internal key", len(s)))
		return nil
	}
	return slices.Clone(s)
}

func badVarint(n int) string {
	if n == 0 {
		return "is truncated"
	}
	return "is an overlong varint"
}

// Decode replaces e with the edit encoded in src. file and offset name the MANIFEST and the
// record's offset in it for errors, which wrap dberr.ErrCorruption. Decode never trusts a
// length, rejects unknown tags (including the retired 8), levels of NumLevels and above,
// truncated fields, keys too short to be internal keys, and sequence numbers above
// keys.MaxSeqNum. The decoded edit owns its memory; src may be reused afterwards.
func (e *VersionEdit) Decode(src []byte, file string, offset int64) error {
	*e = VersionEdit{}
	d := editDecoder{src: src, file: file, offset: offset}
	for d.err == nil && d.pos < len(src) {
		tag, n := coding.Varint32(src[d.pos:])
		if n <= 0 {
			d.fail("tag", badVarint(n))
			break
		}
		tagPos := d.pos
		d.pos += n
		switch tag {
		case tagComparator:
			if s := d.bytes("comparator name"); d.err == nil {
				e.SetComparator(string(s))
			}
		case tagLogNumber:
			if v := d.varint64("log number"); d.err == nil {
				e.SetLogNum(v)
			}
		case tagPrevLogNumber:
			if v := d.varint64("previous log number"); d.err == nil {
				e.SetPrevLogNum(v)
			}
		case tagNextFileNumber:
			if v := d.varint64("next file number"); d.err == nil {
				e.SetNextFileNum(v)
			}
		case tagLastSequence:
			v := d.varint64("last sequence number")
			if d.err == nil && keys.SeqNum(v) > keys.MaxSeqNum {
				d.pos = tagPos
				d.fail("last sequence number", fmt.Sprintf("%d exceeds 56 bits", v))
			}
			if d.err == nil {
				e.SetLastSeq(keys.SeqNum(v))
			}
		case tagCompactPointer:
			level := d.level("compact pointer")
			key := d.internalKey("compact pointer key")
			if d.err == nil {
				e.AddCompactPointer(level, key)
			}
		case tagDeletedFile:
			level := d.level("deleted file")
			num := d.varint64("deleted file number")
			if d.err == nil {
				e.DeleteFile(level, num)
			}
		case tagNewFile:
			level := d.level("new file")
			num := d.varint64("new file number")
			size := d.varint64("new file size")
			smallest := d.internalKey("new file smallest key")
			largest := d.internalKey("new file largest key")
			if d.err == nil {
				e.AddFile(level, &FileMetadata{Num: num, Size: size, Smallest: smallest, Largest: largest})
			}
		default:
			d.pos = tagPos
			d.fail("tag", fmt.Sprintf("%d is unknown", tag))
		}
	}
	if d.err != nil {
		*e = VersionEdit{}
	}
	return d.err
}

// String prints the edit one field per line, for tests and tools:
//
//	comparator: leveldb.BytewiseComparator
//	log: 3
//	deleted: L1 000012
//	added: L2 000013:[a#5,SET-f#9,DEL] 1000
func (e *VersionEdit) String() string {
	var b strings.Builder
	if e.HasComparator {
		fmt.Fprintf(&b, "comparator: %s\n", e.Comparator)
	}
	if e.HasLogNum {
		fmt.Fprintf(&b, "log: %d\n", e.LogNum)
	}
	if e.HasPrevLogNum {
		fmt.Fprintf(&b, "prev-log: %d\n", e.PrevLogNum)
	}
	if e.HasNextFileNum {
		fmt.Fprintf(&b, "next-file: %d\n", e.NextFileNum)
	}
	if e.HasLastSeq {
		fmt.Fprintf(&b, "last-seq: %d\n", e.LastSeq)
	}
	for _, cp := range e.CompactPointers {
		fmt.Fprintf(&b, "compact-pointer: L%d %s\n", cp.Level, keys.FormatInternalKey(cp.Key))
	}
	for _, d := range e.SortedDeletions() {
		fmt.Fprintf(&b, "deleted: L%d %06d\n", d.Level, d.Num)
	}
	for _, nf := range e.NewFiles {
		fmt.Fprintf(&b, "added: L%d %s %d\n", nf.Level, nf.Meta, nf.Meta.Size)
	}
	return b.String()
}
