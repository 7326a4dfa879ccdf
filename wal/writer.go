package wal

import (
	"fmt"
	"io"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
)

// SyncWriter is the file a Writer appends to. A vfs.File satisfies it.
type SyncWriter interface {
	io.Writer
	// Sync makes everything written so far durable.
	Sync() error
}

// InPlaceWriter is a SyncWriter that stores the bytes of a write in the file as it copies them,
// through a shared memory mapping (logfile.Appender), so that a process killed in the middle of a
// write leaves part of it in the file, with zeros after it. When InPlace reports true, the Writer
// hands it each record with WriteHeadsLast and the offsets of its fragments' headers, and the
// InPlaceWriter stores every other byte first and then the headers, in order, each in one
// store. A record cut short by a kill then ends in a fragment whose header is still zero, which
// Readers take for a torn tail; and C++ leveldb, which reports any fragment that is not followed
// by the rest of its record, sees one only if the kill lands among the few stores of the headers.
type InPlaceWriter interface {
	SyncWriter
	// InPlace reports whether writes currently store in place.
	InPlace() bool
	// WriteHeadsLast writes p, storing the headLen bytes at each offset in heads (in order)
	// after all the other bytes; it returns len(p) or an error.
	WriteHeadsLast(p []byte, heads []int, headLen int) (int, error)
}

// maxRetainedBuffer is the largest framing buffer a Writer keeps between records. Typical WAL
// records (one write group) and MANIFEST edits are far smaller, so steady-state appends reuse
// the buffer and allocate nothing; a rare multi-megabyte batch gets a buffer of its own that is
// released afterwards instead of pinning its size for the life of the log.
const maxRetainedBuffer = 1 << 20

// zeros pads block tails.
var zeros [headerSize - 1]byte

// typeCRC[t] is the crc32c of the single type byte t, the common prefix of every checksum of a
// fragment of type t.
var typeCRC = func() (c [maxType + 1]uint32) {
	for t := range c {
		c[t] = crc.Value([]byte{byte(t)})
	}
	return c
}()

// Writer appends records to a log.
//
// A Writer belongs to one goroutine at a time. It does not own the file: closing the file is the
// caller's job, after a final Sync if the records must be durable.
type Writer struct {
	w        SyncWriter
	inPlace  InPlaceWriter // w, if it is one; else nil
	blockOff int           // bytes already used in the current block, in [0, blockSize)
	size     int64         // bytes in the log: the starting size plus every successful Write
	buf      []byte        // framing buffer, reused across records
	heads    []int         // where in buf each fragment's header starts
	err      error         // sticky: set by the first failed Write or Sync
}

// NewWriter returns a Writer that starts a new log at the beginning of w, which must be empty.
func NewWriter(w SyncWriter) *Writer {
	ip, _ := w.(InPlaceWriter)
	return &Writer{w: w, inPlace: ip}
}

// NewAppendWriter returns a Writer that continues an existing log of size bytes; w must be
// positioned at its end. The log must end cleanly, at the end of a record (as a Reader that
// returned io.EOF confirms): appending after a torn tail would leave the partial record in the
// middle of the log, where readers report it as corruption.
func NewAppendWriter(w SyncWriter, size int64) *Writer {
	if size < 0 {
		panic(fmt.Sprintf("wal: NewAppendWriter with negative size %d", size))
	}
	ip, _ := w.(InPlaceWriter)
	return &Writer{w: w, inPlace: ip, blockOff: int(size % blockSize), size: size}
}

// AddRecord appends one record holding payload, which may be empty, and returns once the record
// has been handed to the file: in a single Write call, or one WriteHeadsLast of an InPlaceWriter.
// It does not sync; see Sync.
//
// If the Write fails the Writer is broken and this and every later call return the same error:
// the record may be partly in the file, and the block position of the next record is unknown.
func (w *Writer) AddRecord(payload []byte) error {
	if w.err != nil {
		return w.err
	}
	buf := w.frame(payload)
	var n int
	var err error
	if w.inPlace != nil && w.inPlace.InPlace() {
		n, err = w.inPlace.WriteHeadsLast(buf, w.heads, headerSize)
	} else {
		n, err = w.w.Write(buf)
	}
	if err == nil && n != len(buf) {
		err = io.ErrShortWrite
	}
	if cap(w.buf) > maxRetainedBuffer {
		w.buf = nil
	}
	if err != nil {
		w.err = fmt.Errorf("append of %d-byte record at log offset %d failed, log writer is unusable: %w",
			len(payload), w.size, err)
		return w.err
	}
	w.size += int64(n)
	return nil
}

// frame lays out payload as the writer's next record in w.buf and returns it, advancing
// w.blockOff. The layout is leveldb's:
//
//   - a block tail too short for a header is zero-filled and the record starts in the next block;
//   - a record that fits in the rest of the block is one FULL fragment, even when empty;
//   - otherwise it is a FIRST fragment filling the block, MIDDLE fragments filling whole blocks,
//     and a LAST fragment. When exactly headerSize bytes are left the FIRST fragment is empty.
func (w *Writer) frame(payload []byte) []byte {
	// Every fragment after the first starts a block, and so does the first after a tail of
	// fewer than headerSize bytes, so this bounds the framed size from above.
	need := len(payload) + (headerSize - 1) + headerSize*(2+len(payload)/(blockSize-headerSize))
	if cap(w.buf) < need {
		w.buf = make([]byte, 0, need)
	}
	buf := w.buf[:0]
	w.heads = w.heads[:0]
	left := payload
	first := true
	for {
		if room := blockSize - w.blockOff; room < headerSize {
			buf = append(buf, zeros[:room]...)
			w.blockOff = 0
		}
		n := min(len(left), blockSize-w.blockOff-headerSize)
		last := n == len(left)
		var t byte
		switch {
		case first && last:
			t = fullType
		case first:
			t = firstType
		case last:
			t = lastType
		default:
			t = middleType
		}
		w.heads = append(w.heads, len(buf))
		buf = appendFragment(buf, t, left[:n])
		w.blockOff += headerSize + n
		left = left[n:]
		first = false
		if last {
			break
		}
	}
	if w.blockOff == blockSize {
		w.blockOff = 0
	}
	w.buf = buf
	return buf
}

// appendFragment appends one physical record: header, then payload.
func appendFragment(dst []byte, t byte, payload []byte) []byte {
	var h [headerSize]byte
	coding.PutFixed32(h[0:4], crc.Mask(crc.Extend(typeCRC[t], payload)))
	h[4] = byte(len(payload))
	h[5] = byte(len(payload) >> 8)
	h[6] = t
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// Sync makes every record added so far durable. A failed Sync breaks the Writer like a failed
// Write: after a failed fsync the kernel may have dropped the unwritten pages, so neither the
// records nor the position of the next block boundary can be trusted.
func (w *Writer) Sync() error {
	if w.err != nil {
		return w.err
	}
	if err := w.w.Sync(); err != nil {
		w.err = fmt.Errorf("sync of log at offset %d failed, log writer is unusable: %w", w.size, err)
		return w.err
	}
	return nil
}

// Size returns the length of the log in bytes: the starting size plus every byte handed to the
// file by a successful AddRecord. After a failed Write it stays at the size before that append,
// though the file may hold part of the failed record beyond it.
func (w *Writer) Size() int64 { return w.size }

// Err returns the error that broke the Writer, or nil.
func (w *Writer) Err() error { return w.err }
