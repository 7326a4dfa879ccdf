package batch

import (
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Reader decodes a batch's entries in order, checking the format as it goes. It allocates
// nothing: keys and values alias the batch bytes.
//
// Entries come back before the whole batch has been checked: a count mismatch or trailing bytes
// show only when Next returns false. A caller that must not act on part of a damaged batch
// (recovery inserting into a memtable) uses Apply, or Validate first.
//
//	r, err := batch.NewReader(record, logName, recordOffset)
//	for kind, key, value, ok := r.Next(); ok; kind, key, value, ok = r.Next() { ... }
//	err = r.Err()
type Reader struct {
	data   []byte
	file   string
	offset int64
	pos    int    // where the next entry starts
	count  uint32 // what the header says
	n      uint32 // entries decoded so far
	err    error
	done   bool
}

// NewReader checks the header of repr and returns a Reader positioned before its first entry.
// file and offset name the batch's place (a log file and the offset of its record) in errors.
// A header that is too short, or a sequence number that would carry an entry past
// keys.MaxSeqNum, is reported as corruption, and the returned Reader yields nothing.
func NewReader(repr []byte, file string, offset int64) (Reader, error) {
	r := Reader{data: repr, file: file, offset: offset}
	if len(repr) < HeaderLen {
		r.fail("batch: %d bytes, shorter than the %d-byte header", len(repr), HeaderLen)
		return r, r.err
	}
	r.pos = HeaderLen
	r.count = Repr(repr).Count()
	seq := Repr(repr).Seq()
	// The last entry gets seq+count-1; written so that nothing overflows 64 bits.
	if seq > keys.MaxSeqNum || r.count > 0 && uint64(r.count-1) > uint64(keys.MaxSeqNum-seq) {
		r.fail("batch: sequence number %d with %d entries passes the maximum %d", seq, r.count, keys.MaxSeqNum)
		return r, r.err
	}
	return r, nil
}

// Seq returns the sequence number the header assigns to the first entry.
func (r *Reader) Seq() keys.SeqNum { return Repr(r.data).Seq() }

// Count returns the entry count the header records (not yet checked against the entries).
func (r *Reader) Count() uint32 { return Repr(r.data).Count() }

// Err returns the first problem found, or nil. Once Next has returned false, a nil Err means
// the whole batch was well formed.
func (r *Reader) Err() error { return r.err }

// Next decodes the next entry: its kind (keys.KindSet for a put, keys.KindDelete for a
// deletion, whose value is nil), key and value. ok is false at the end of the batch or on the
// first error; Err tells them apart.
func (r *Reader) Next() (kind keys.Kind, key, value []byte, ok bool) {
	if r.err != nil || r.done {
		return 0, nil, nil, false
	}
	if r.pos >= len(r.data) {
		r.done = true
		if r.n != r.count {
			r.fail("batch: header counts %d entries, but the batch holds %d", r.count, r.n)
		}
		return 0, nil, nil, false
	}
	if r.n == r.count {
		r.done = true
		if more, ok := countEntries(r.data[r.pos:]); ok {
			r.fail("batch: header counts %d entries, but the batch holds %d", r.count, uint64(r.count)+more)
		} else {
			r.fail("batch: %d trailing bytes at byte %d, after the last of %d entries", len(r.data)-r.pos, r.pos, r.count)
		}
		return 0, nil, nil, false
	}
	kind, key, value, n, why := decodeEntry(r.data[r.pos:])
	if why != "" {
		r.fail("batch: entry %d at byte %d: %s", r.n, r.pos, why)
		return 0, nil, nil, false
	}
	r.pos += n
	r.n++
	return kind, key, value, true
}

func (r *Reader) fail(format string, args ...any) {
	r.err = dberr.Corruptf(r.file, r.offset, format, args...)
	r.done = true
}

// decodeEntry decodes the entry at the start of b. It returns its size, or a reason it is
// malformed.
func decodeEntry(b []byte) (kind keys.Kind, key, value []byte, n int, why string) {
	tag := b[0]
	if tag != tagPut && tag != tagDelete {
		return 0, nil, nil, 0, "unknown tag " + hexByte(tag)
	}
	n = 1
	key, m, why := lengthPrefixed(b[n:], "key")
	if why != "" {
		return 0, nil, nil, 0, why
	}
	n += m
	if tag == tagDelete {
		return keys.KindDelete, key, nil, n, ""
	}
	value, m, why = lengthPrefixed(b[n:], "value")
	if why != "" {
		return 0, nil, nil, 0, why
	}
	return keys.KindSet, key, value, n + m, ""
}

// lengthPrefixed decodes a varint32 length and the bytes it counts. The length must be written
// in the fewest bytes, as every writer does, so that one batch has one encoding.
func lengthPrefixed(b []byte, what string) (s []byte, n int, why string) {
	l, m := coding.Varint32(b)
	switch {
	case m == 0:
		return nil, 0, "truncated " + what + " length"
	case m < 0:
		return nil, 0, what + " length overflows 32 bits"
	case m != coding.VarintLen(uint64(l)):
		return nil, 0, what + " length is not a minimal varint"
	case uint64(l) > uint64(len(b)-m):
		return nil, 0, "truncated " + what
	}
	end := m + int(l)
	return b[m:end:end], end, ""
}

// countEntries reports how many well-formed entries b holds, if it holds nothing else.
func countEntries(b []byte) (uint64, bool) {
	var n uint64
	for len(b) > 0 {
		_, _, _, m, why := decodeEntry(b)
		if why != "" {
			return 0, false
		}
		b = b[m:]
		n++
	}
	return n, true
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{'0', 'x', digits[c>>4], digits[c&15]})
}

// ApplyFunc receives one entry of a batch and the sequence number it is written at.
type ApplyFunc func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error

// Validate checks the whole batch: the header, every entry, the count and that nothing
// follows the last entry. Problems are reported as in NewReader.
func Validate(repr []byte, file string, offset int64) error {
	r, err := NewReader(repr, file, offset)
	if err != nil {
		return err
	}
	for _, _, _, ok := r.Next(); ok; _, _, _, ok = r.Next() {
	}
	return r.Err()
}

// Apply validates the whole batch and only then calls fn for each entry in order, with the
// sequence numbers seq, seq+1, ... where seq is the header's. This is how the DB inserts a
// batch into a memtable: a damaged batch is rejected before any of it is applied. An error from
// fn stops the walk and is returned as is. Apply allocates nothing.
func Apply(repr []byte, file string, offset int64, fn ApplyFunc) error {
	if err := Validate(repr, file, offset); err != nil {
		return err
	}
	r, _ := NewReader(repr, file, offset)
	seq := r.Seq()
	for kind, key, value, ok := r.Next(); ok; kind, key, value, ok = r.Next() {
		if err := fn(seq, kind, key, value); err != nil {
			return err
		}
		seq++
	}
	return r.Err()
}

// EntryAt decodes the entry that starts at byte off of the batch repr (an offset a writer
// noted before appending it): its kind, key and value. ok is false when no whole entry starts
// there.
func EntryAt(repr []byte, off int) (kind keys.Kind, key, value []byte, ok bool) {
	if off < HeaderLen || off >= len(repr) {
		return 0, nil, nil, false
	}
	kind, key, value, _, why := decodeEntry(repr[off:])
	return kind, key, value, why == ""
}

// Pos returns the offset in the batch of the entry the next call to Next decodes.
func (r *Reader) Pos() int { return r.pos }
