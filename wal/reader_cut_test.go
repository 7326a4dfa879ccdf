package wal

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReaderCutWrite: a writer through a mapping (InPlaceWriter) stores each fragment's header
// last, so a process killed in the middle of a record leaves whole fragments, then a zero header
// with or without data behind it, then zeros. At the end of the log that is a torn tail, never
// corruption (so a paranoid open after a kill succeeds); with a record after it, it is damage.
func TestReaderCutWrite(t *testing.T) {
	a, b := payload(10, 1), payload(20, 2)
	t.Run("zero header with data at the end", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a)
		cut := l.offset()
		l.zeros(headerSize).raw(payload(5, 9)).zeros(300)
		requireTornAt(t, bytesReader(l.b), [][]byte{a}, cut)
	})
	t.Run("whole fragments then zeros", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a)
		first := l.offset()
		l.frag(firstType, payload(blockSize-int(first)-headerSize, 4))
		l.zeros(2 * blockSize)
		requireTornAt(t, bytesReader(l.b), [][]byte{a}, first)
	})
	t.Run("zero header with data, then a record", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a)
		cut := l.offset()
		l.zeros(headerSize).raw(payload(5, 9))
		l.zeros(blockSize - int(l.offset()))
		l.frag(fullType, b)
		requireCorruptAt(t, l.b, [][]byte{a}, cut)
	})
}

// cutLog is an InPlaceWriter over a zero buffer that stores as logfile.Appender does (for each
// fragment its bytes after the header, in two stores as vfs.WritableRegion makes them, then the
// headers one store each) and counts stores, so that a test can stop it after any of them, as a
// kill would.
type cutLog struct {
	buf    []byte
	size   int
	stores int
	limit  int // stores allowed; -1 for all
}

func (c *cutLog) InPlace() bool { return true }
func (c *cutLog) Sync() error   { return nil }

func (c *cutLog) Write(p []byte) (int, error) { return c.WriteHeadsLast(p, nil, 0) }

func (c *cutLog) WriteHeadsLast(p []byte, heads []int, headLen int) (int, error) {
	for len(c.buf) < c.size+len(p)+8 {
		c.buf = append(c.buf, make([]byte, 1<<16)...)
	}
	dst := c.buf[c.size:]
	store := func(from, to int) { // as vfs.WritableRegion.Store: bytes after 8 first, then 8
		if from+8 < to && c.store() {
			copy(dst[from+8:to], p[from+8:to])
		}
		if c.store() {
			copy(dst[from:min(from+8, to)], p[from:])
		}
	}
	if len(heads) == 0 {
		store(0, len(p))
	} else {
		for i, h := range heads {
			to := len(p)
			if i+1 < len(heads) {
				to = heads[i+1]
			}
			if h+headLen < to {
				store(h+headLen, to)
			}
		}
		if heads[0] > 0 {
			store(0, heads[0])
		}
		for _, h := range heads {
			store(h, h+headLen)
		}
	}
	c.size += len(p)
	return len(p), nil
}

// store reports whether the next store happens, counting it.
func (c *cutLog) store() bool {
	c.stores++
	return c.limit < 0 || c.stores <= c.limit
}

// TestInPlaceWriterKilledAtEveryStore writes records of many sizes (FULL, and FIRST/MIDDLE/LAST
// across blocks, with block-tail padding) through an InPlaceWriter and cuts the log after every
// store: the reader, strict, must return a prefix of the records holding every record whose
// stores all completed, then io.EOF or a torn tail, and never corruption. And a record's
// fragments become readable only with its last stores, its headers: before them, the record
// reads as a torn tail (zero headers) and nothing of it shows.
func TestInPlaceWriterKilledAtEveryStore(t *testing.T) {
	var records [][]byte
	for i, n := range []int{100, 32000, 7, 70000, 0, 32761, 500, 40000, 1} {
		records = append(records, payload(n, byte(i)))
	}
	write := func(limit int) (*cutLog, []int) {
		c := &cutLog{limit: limit}
		w := NewWriter(c)
		var doneAfter []int // stores done when each record returned
		for _, r := range records {
			require.NoError(t, w.AddRecord(r))
			doneAfter = append(doneAfter, c.stores)
		}
		return c, doneAfter
	}
	full, doneAfter := write(-1)
	for limit := 0; limit <= full.stores; limit++ {
		c, _ := write(limit)
		r := NewReader(bytes.NewReader(c.buf), "test.log")
		got, err := readAll(r)
		if err != io.EOF {
			require.ErrorIs(t, err, ErrTornTail, "cut after %d stores", limit)
		}
		whole := 0
		for whole < len(doneAfter) && doneAfter[whole] <= limit {
			whole++
		}
		require.GreaterOrEqual(t, len(got), whole, "cut after %d stores", limit)
		requireRecords(t, records[:len(got)], got)
	}
}
