package wal

import (
	"errors"
	"fmt"
	"io"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
)

// Reader reads the records of a log in order, one 32 KiB block at a time.
//
// By default the first problem ends reading: Next returns it, and every later call returns it
// again. SkipCorruption switches to recovery mode, where corruption is reported and skipped.
//
// A Reader belongs to one goroutine at a time.
type Reader struct {
	src    io.Reader
	file   string
	report func(offset int64, dropped int, err error) // nil: stop at the first corruption

	buf      []byte // backing store of block, blockSize bytes
	block    []byte // the bytes of the current block that the file holds
	blockOff int64  // file offset of block[0]; always a multiple of blockSize
	pos      int    // next unread byte of block
	eof      bool   // the source is exhausted; block is the file's last block

	rec  []byte // reassembly buffer for fragmented records
	last int64  // offset of the last record returned
	err  error  // sticky: the error that ended reading

	// zeroOff and zeroLen describe zeroed space skipped since the last fragment read (zeroLen
	// 0: none). At the end of the log it is space allocated but never written; anything read
	// after it makes it damage (see Next).
	zeroOff int64
	zeroLen int
	zeroCut bool // the zeroed space includes a zero header with data behind it (fragCut)
}

// NewReader returns a Reader of the log in r. file names the log in errors.
func NewReader(r io.Reader, file string) *Reader {
	buf := make([]byte, blockSize)
	return &Reader{src: r, file: file, buf: buf, block: buf[:0], last: -1}
}

// Reset makes r read the log in src, named file, from its beginning, as if newly created but
// keeping its buffers and its mode (see SkipCorruption). Recovery reads several logs in turn
// with one Reader this way.
func (r *Reader) Reset(src io.Reader, file string) {
	*r = Reader{src: src, file: file, report: r.report, buf: r.buf, block: r.buf[:0], rec: r.rec[:0], last: -1}
}

// SkipCorruption puts the Reader in recovery mode, as leveldb's log recovery runs when paranoid
// checks are off: instead of stopping at corruption, Next calls report and carries on with the
// next record it can trust. report receives the file offset where the dropped bytes begin, how
// many bytes were dropped, and an error matching dberr.ErrCorruption that says what was wrong.
//
// What is dropped depends on what can still be trusted. A bad checksum or an impossible length
// drops the rest of the block, since the header's own length field is suspect and trusting it
// could frame stray bytes as a record. A fragment whose checksum is right but whose type is
// unknown or out of order (MIDDLE or LAST with no FIRST) drops only that fragment. A fragmented
// record that is cut off by a new record or by damage is dropped whole, from its FIRST fragment
// on, and reported separately. Torn tails and I/O errors still end reading.
//
// Call it before the first Next. A nil report is allowed and discards the reports.
func (r *Reader) SkipCorruption(report func(offset int64, dropped int, err error)) {
	if report == nil {
		report = func(int64, int, error) {}
	}
	r.report = report
}

// Each hands every record to fn, in order, with its offset (see Offset), until the log ends.
// A torn tail ends the log too: torn, when not nil, is told of it. Each returns nil at the end,
// Next's error (damage, unless SkipCorruption asked to go past it, or I/O), or fn's. The slice
// fn gets is valid only until it returns.
func (r *Reader) Each(torn func(err error), fn func(rec []byte, off int64) error) error {
	for {
		rec, err := r.Next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, ErrTornTail):
			if torn != nil {
				torn(err)
			}
			return nil
		case err != nil:
			return err
		}
		if err := fn(rec, r.last); err != nil {
			return err
		}
	}
}

// Offset returns the file offset of the last record Next returned: the header of its FULL or
// FIRST fragment. Before the first record it returns -1.
func (r *Reader) Offset() int64 { return r.last }

// Next returns the next record. The slice is only valid until the next call to Next: it may
// alias the Reader's block buffer, and the caller must copy what it keeps.
//
// At the end of the log Next returns io.EOF if the log ends cleanly, or an error matching
// ErrTornTail if it ends inside a record. Other damage returns an error matching
// dberr.ErrCorruption (see SkipCorruption to read past it). Once Next has returned an error it
// returns the same error from then on.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	open := false   // a FIRST fragment has been read and its LAST has not
	var start int64 // offset of the open record's FIRST fragment
	r.rec = r.rec[:0]
	for {
		f, kind, err := r.readFragment()
		switch kind {
		case fragEOF:
			if open {
				return nil, r.fail(r.torn(start, fmt.Sprintf("file ends after %d bytes of a fragmented record", len(r.rec))))
			}
			if r.zeroCut {
				return nil, r.fail(r.torn(r.zeroOff, "the log ends in a fragment whose header was never stored (a write through a mapping cut short)"))
			}
			return nil, r.fail(io.EOF)
		case fragTorn:
			if open {
				return nil, r.fail(r.torn(start, fmt.Sprintf("file ends inside a fragment of the record (at offset %d)", f.off)))
			}
			return nil, r.fail(r.torn(f.off, err.Error()))
		case fragIOError:
			return nil, r.fail(err)
		case fragCorrupt:
			// Strict mode reports the damage itself; recovery also reports the lost record.
			if open && r.report != nil {
				open = false
				_ = r.abandon(start, f.off, "damaged fragment") // recovery mode: reports, never fails
			}
			if err := r.corrupt(f.off, f.dropped, err); err != nil {
				return nil, err
			}
			continue
		case fragZero, fragCut:
			// Judged by what follows: the end of the log, or damage if a record comes after.
			if r.zeroLen == 0 {
				r.zeroOff = f.off
			}
			r.zeroLen += f.dropped
			r.zeroCut = r.zeroCut || kind == fragCut
			continue
		}
		if r.zeroLen > 0 {
			if err := r.zeroedBeforeRecord(open, start, f.off); err != nil {
				return nil, err
			}
			open = false
		}

		switch f.typ {
		case fullType, firstType:
			if open {
				open = false
				// An empty FIRST fragment followed by a new record loses nothing: old leveldb
				// writers emitted one at a block tail before starting the record afresh in the
				// next block, and leveldb's reader accepts it, so this one does too.
				if len(r.rec) > 0 {
					if err := r.abandon(start, f.off, typeName(f.typ)+" fragment"); err != nil {
						return nil, err
					}
				}
			}
			if f.typ == fullType {
				r.last = f.off
				return f.data, nil
			}
			open = true
			start = f.off
			r.rec = append(r.rec[:0], f.data...)
		case middleType, lastType:
			if !open {
				err := dberr.Corruptf(r.file, f.off, "%s fragment without a FIRST fragment before it", typeName(f.typ))
				if err := r.corrupt(f.off, headerSize+len(f.data), err); err != nil {
					return nil, err
				}
				continue
			}
			r.rec = append(r.rec, f.data...)
			if f.typ == lastType {
				r.last = start
				return r.rec, nil
			}
		default:
			if open && r.report != nil {
				open = false
				_ = r.abandon(start, f.off, "fragment of unknown type")
			}
			err := dberr.Corruptf(r.file, f.off, "unknown record type %d (length %d)", f.typ, len(f.data))
			if err := r.corrupt(f.off, headerSize+len(f.data), err); err != nil {
				return nil, err
			}
		}
	}
}

// zeroedBeforeRecord handles zeroed space that a fragment at off follows. Zeroed blocks with
// records after them are not unwritten space at the end of the log but damage (a zeroed or lost
// sector, say): the records they held are gone, and replaying the ones after them without them
// would apply a write without the writes before it. open and start describe a fragmented
// record the zeroed space interrupted, which is lost with it.
func (r *Reader) zeroedBeforeRecord(open bool, start, off int64) error {
	if open {
		if err := r.abandon(start, r.zeroOff, "zeroed space"); err != nil {
			return err
		}
	}
	err := dberr.Corruptf(r.file, r.zeroOff, "%d zeroed bytes with records after them (at offset %d)", r.zeroLen, off)
	dropped := r.zeroLen
	r.zeroLen, r.zeroCut = 0, false
	return r.corrupt(r.zeroOff, dropped, err)
}

// fail makes err the Reader's final answer.
func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// torn returns a torn-tail error for the partial record starting at off.
func (r *Reader) torn(off int64, reason string) error {
	return &TornTailError{File: r.file, Offset: off, Reason: reason}
}

// corrupt handles corruption found at off that costs dropped bytes: in recovery mode it reports
// it and returns nil so that reading continues; otherwise it ends reading with err.
func (r *Reader) corrupt(off int64, dropped int, err error) error {
	if r.report == nil {
		return r.fail(err)
	}
	r.report(off, dropped, err)
	return nil
}

// abandon handles a fragmented record that started at start and was interrupted at at, by what.
// The error names the interrupting physical record; the report covers the record's bytes.
func (r *Reader) abandon(start, at int64, what string) error {
	err := dberr.Corruptf(r.file, at, "%s where the fragmented record started at offset %d needs its next fragment", what, start)
	return r.corrupt(start, int(at-start), err)
}

// fragment is one physical record.
type fragment struct {
	typ     byte
	data    []byte // aliases the block buffer
	off     int64  // file offset of the header
	dropped int    // fragCorrupt and fragZero only: bytes skipped from off on
}

// fragKind says what readFragment found.
type fragKind int

const (
	fragOK      fragKind = iota // a physical record with a good checksum (its type unchecked)
	fragZero                    // a zero header: the rest of the block is zeroed space, skipped
	fragCut                     // a zero header with data behind it in its block, skipped
	fragEOF                     // the file ends cleanly here
	fragTorn                    // the file ends inside the physical record at off
	fragCorrupt                 // the record at off is damaged; dropped bytes were skipped
	fragIOError                 // the source failed
)

// readFragment returns the next physical record, loading blocks as needed and skipping block
// tails. It trusts no length it reads: every header is checked against the bytes in the block.
func (r *Reader) readFragment() (fragment, fragKind, error) {
	for len(r.block)-r.pos < headerSize {
		if r.eof {
			// Fewer than headerSize bytes left in the file. Zeros are padding, or space that
			// was allocated but never written; anything else is a header cut short.
			rest := r.block[r.pos:]
			off := r.blockOff + int64(r.pos)
			r.pos = len(r.block)
			for _, b := range rest {
				if b != 0 {
					return fragment{off: off}, fragTorn, errors.New("file ends inside a record header")
				}
			}
			return fragment{}, fragEOF, nil
		}
		// A full block's tail under headerSize bytes is padding: move to the next block.
		r.blockOff += int64(len(r.block))
		n, err := io.ReadFull(r.src, r.buf)
		r.block, r.pos = r.buf[:n], 0
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			r.eof = true
		case err != nil:
			r.block = r.buf[:0]
			r.eof = true
			return fragment{}, fragIOError, fmt.Errorf("read %s at offset %d: %w", r.file, r.blockOff, err)
		}
	}

	h := r.block[r.pos : r.pos+headerSize]
	off := r.blockOff + int64(r.pos)
	length := int(h[4]) | int(h[5])<<8
	typ := h[6]
	end := r.pos + headerSize + length
	if end > len(r.block) {
		if r.eof && end <= blockSize {
			// The header fits the block but the file stops before the payload does: the
			// append that wrote it was cut short.
			r.pos = len(r.block)
			return fragment{off: off}, fragTorn, fmt.Errorf("file ends inside a %d-byte %s fragment", length, typeName(typ))
		}
		// No writer produces a fragment that crosses a block boundary, so the length (or the
		// header) is damaged, whether or not the file happens to end inside this block.
		dropped := len(r.block) - r.pos
		r.pos = len(r.block)
		err := dberr.Corruptf(r.file, off, "record length %d runs past the end of its block (%d bytes left)",
			length, dropped-headerSize)
		return fragment{off: off, dropped: dropped}, fragCorrupt, err
	}
	if typ == zeroType && length == 0 {
		// Zeroed or preallocated space: skip the rest of the block, as leveldb does. A zero
		// header with data behind it in its block is a fragment whose header was never stored
		// (a writer through a mapping stores it last) when nothing but such space follows to the
		// end of the log; Next decides, and treats it as damage if a record comes after.
		dropped := len(r.block) - r.pos
		kind := fragZero
		if !allZero(r.block[r.pos+headerSize:]) {
			kind = fragCut
		}
		r.pos = len(r.block)
		return fragment{off: off, dropped: dropped}, kind, nil
	}
	want := crc.Unmask(coding.Fixed32(h))
	if got := crc.Value(r.block[r.pos+headerSize-1 : end]); got != want {
		// The length is as suspect as the rest of the header: drop the whole block tail
		// rather than frame stray bytes as a record.
		dropped := len(r.block) - r.pos
		r.pos = len(r.block)
		err := dberr.Corruptf(r.file, off, "checksum mismatch in %d-byte record of type %d", length, typ)
		return fragment{off: off, dropped: dropped}, fragCorrupt, err
	}
	data := r.block[r.pos+headerSize : end : end]
	r.pos = end
	return fragment{typ: typ, data: data, off: off}, fragOK, nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
