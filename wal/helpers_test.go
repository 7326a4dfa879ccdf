package wal

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
)

// memLog is an in-memory SyncWriter that counts Write and Sync calls.
type memLog struct {
	bytes.Buffer
	writes, syncs int
}

func (m *memLog) Write(p []byte) (int, error) {
	m.writes++
	return m.Buffer.Write(p)
}

func (m *memLog) Sync() error {
	m.syncs++
	return nil
}

// failingLog accepts okWrites Write calls and fails the rest; when short is set the failing
// call writes half its bytes and reports no error (an io.Writer contract violation the Writer
// must still catch). Sync fails when syncErr is set.
type failingLog struct {
	memLog
	okWrites int
	short    bool
	syncErr  error
}

var errDiskFull = errors.New("test: disk full")

func (f *failingLog) Write(p []byte) (int, error) {
	if f.writes >= f.okWrites {
		f.writes++
		if f.short {
			f.Buffer.Write(p[:len(p)/2])
			return len(p) / 2, nil
		}
		return 0, errDiskFull
	}
	return f.memLog.Write(p)
}

func (f *failingLog) Sync() error {
	f.syncs++
	return f.syncErr
}

// writeLog frames records with a Writer and returns the log's bytes.
func writeLog(t testing.TB, records ...[]byte) []byte {
	t.Helper()
	var m memLog
	w := NewWriter(&m)
	for _, r := range records {
		require.NoError(t, w.AddRecord(r))
	}
	return m.Bytes()
}

// readAll reads records until Next fails and returns copies of them and the final error.
func readAll(r *Reader) ([][]byte, error) {
	var out [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, bytes.Clone(rec))
	}
}

// payload returns n deterministic bytes that differ with tag, so records cannot be mistaken
// for one another.
func payload(n int, tag byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = tag + byte(i*7+i>>8)
	}
	return b
}

// phys is a physical record as found by walk.
type phys struct {
	off int64 // header offset
	typ byte
	n   int // payload length
}

// walk parses the physical records of a well-formed log independently of Reader: it is the
// test's own reading of the format, used to check fragment types and the layout of tails. It
// also checks that every block tail too short for a header is zeros.
func walk(t testing.TB, log []byte) []phys {
	t.Helper()
	var out []phys
	for start := 0; start < len(log); start += blockSize {
		block := log[start:min(start+blockSize, len(log))]
		p := 0
		for len(block)-p >= headerSize {
			h := block[p : p+headerSize]
			n := int(h[4]) | int(h[5])<<8
			require.LessOrEqual(t, p+headerSize+n, len(block), "fragment at %d overruns its block", start+p)
			want := crc.Unmask(coding.Fixed32(h))
			require.Equal(t, want, crc.Value(block[p+6:p+headerSize+n]), "checksum of fragment at %d", start+p)
			out = append(out, phys{off: int64(start + p), typ: h[6], n: n})
			p += headerSize + n
		}
		if p < len(block) {
			require.Less(t, len(block)-p, headerSize)
			require.Equal(t, make([]byte, len(block)-p), block[p:], "block tail at %d is not zero-filled", start+p)
		}
	}
	return out
}

// logBuilder assembles hand-made logs, good or bad, one physical record at a time. It does not
// pad block tails: tests say exactly what goes where.
type logBuilder struct {
	b []byte
}

// frag appends a physical record with a correct checksum.
func (l *logBuilder) frag(typ byte, data []byte) *logBuilder {
	return l.header(crc.Mask(crc.Extend(crc.Value([]byte{typ}), data)), len(data), typ).raw(data)
}

// header appends a header with the given fields, however wrong.
func (l *logBuilder) header(maskedCRC uint32, length int, typ byte) *logBuilder {
	l.b = coding.AppendFixed32(l.b, maskedCRC)
	l.b = append(l.b, byte(length), byte(length>>8), typ)
	return l
}

// raw appends bytes as they are.
func (l *logBuilder) raw(b []byte) *logBuilder {
	l.b = append(l.b, b...)
	return l
}

// zeros appends n zero bytes.
func (l *logBuilder) zeros(n int) *logBuilder {
	return l.raw(make([]byte, n))
}

// fill appends a FULL record that ends exactly at the end of the current block, which must have
// room for a header.
func (l *logBuilder) fill(tag byte) *logBuilder {
	room := blockSize - len(l.b)%blockSize
	return l.frag(fullType, payload(room-headerSize, tag))
}

// offset is the builder's current length.
func (l *logBuilder) offset() int64 { return int64(len(l.b)) }

// bytesReader returns a fresh Reader over log.
func bytesReader(log []byte) *Reader {
	return NewReader(bytes.NewReader(log), "test.log")
}

// errReader returns data and then fails with err instead of io.EOF.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

var _ io.Reader = (*errReader)(nil)

// requireRecords compares records without dumping megabytes of hex when they differ.
func requireRecords(t testing.TB, want, got [][]byte) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("got %d records %v, want %d %v", len(got), lengths(got), len(want), lengths(want))
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			t.Fatalf("record %d differs: got %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
}

func lengths(recs [][]byte) []int {
	out := make([]int, len(recs))
	for i, r := range recs {
		out[i] = len(r)
	}
	return out
}
