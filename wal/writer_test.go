package wal

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriterLayout checks where the Writer puts each fragment, against the format's rules, and
// that the Reader gets the records back.
func TestWriterLayout(t *testing.T) {
	t.Run("empty record", func(t *testing.T) {
		log := writeLog(t, nil)
		require.Len(t, log, headerSize)
		require.Equal(t, []phys{{0, fullType, 0}}, walk(t, log))
		got, err := readAll(bytesReader(log))
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{{}}, got)
	})

	t.Run("record exactly filling a block", func(t *testing.T) {
		a, b := payload(blockSize-headerSize, 1), payload(10, 2)
		log := writeLog(t, a, b)
		require.Len(t, log, blockSize+headerSize+10)
		require.Equal(t, []phys{{0, fullType, len(a)}, {blockSize, fullType, 10}}, walk(t, log))
		got, err := readAll(bytesReader(log))
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, b}, got)
	})

	t.Run("record spanning many blocks", func(t *testing.T) {
		big := payload(3<<20, 3)
		log := writeLog(t, payload(100, 4), big, payload(5, 5))
		frags := walk(t, log)
		require.Equal(t, phys{0, fullType, 100}, frags[0])
		require.Equal(t, phys{headerSize + 100, firstType, blockSize - 2*headerSize - 100}, frags[1])
		total := frags[1].n
		for i, f := range frags[2 : len(frags)-2] {
			require.Equal(t, phys{int64(i+1) * blockSize, middleType, blockSize - headerSize}, f)
			total += f.n
		}
		lastFrag := frags[len(frags)-2]
		require.Equal(t, byte(lastType), lastFrag.typ)
		require.Equal(t, len(big), total+lastFrag.n)
		require.Equal(t, byte(fullType), frags[len(frags)-1].typ)

		r := bytesReader(log)
		got, err := readAll(r)
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, got, 3)
		require.True(t, bytes.Equal(big, got[1]), "3 MiB record differs after the round trip")
	})

	for tail := 1; tail < headerSize; tail++ {
		t.Run(fmt.Sprintf("block tail of %d bytes", tail), func(t *testing.T) {
			a, b := payload(blockSize-headerSize-tail, 6), payload(20, 7)
			var m memLog
			w := NewWriter(&m)
			require.NoError(t, w.AddRecord(a))
			require.Equal(t, int64(blockSize-tail), w.Size())
			require.NoError(t, w.AddRecord(b))
			log := m.Bytes()
			// The tail's zeros go out in the same Write as the record after them.
			require.Equal(t, 2, m.writes)
			require.Len(t, log, blockSize+headerSize+20)
			require.Equal(t, make([]byte, tail), log[blockSize-tail:blockSize])
			require.Equal(t, []phys{{0, fullType, len(a)}, {blockSize, fullType, 20}}, walk(t, log))
			got, err := readAll(bytesReader(log))
			require.ErrorIs(t, err, io.EOF)
			requireRecords(t, [][]byte{a, b}, got)
		})
	}

	t.Run("exactly 7 bytes left", func(t *testing.T) {
		a, b := payload(blockSize-2*headerSize, 8), payload(30, 9)
		log := writeLog(t, a, b)
		// The header fits, the payload does not: leveldb writes an empty FIRST fragment there
		// and the whole payload in a LAST fragment in the next block.
		require.Equal(t, []phys{
			{0, fullType, len(a)},
			{blockSize - headerSize, firstType, 0},
			{blockSize, lastType, 30},
		}, walk(t, log))
		r := bytesReader(log)
		got, err := readAll(r)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, b}, got)

		t.Run("empty record there is one empty FULL", func(t *testing.T) {
			log := writeLog(t, a, nil, b)
			require.Equal(t, []phys{
				{0, fullType, len(a)},
				{blockSize - headerSize, fullType, 0},
				{blockSize, fullType, 30},
			}, walk(t, log))
		})
	})
}

// TestWriterOneWritePerRecord checks the durability contract: each AddRecord reaches the file in
// exactly one Write call, padding and all fragments included, and nothing is held back.
func TestWriterOneWritePerRecord(t *testing.T) {
	var m memLog
	w := NewWriter(&m)
	sizes := []int{0, 1, 100, blockSize - 200, blockSize, 5 * blockSize, 3, blockSize - headerSize, 70000}
	for i, n := range sizes {
		before := m.Len()
		require.NoError(t, w.AddRecord(payload(n, byte(i))))
		require.Equal(t, i+1, m.writes, "record %d (%d bytes)", i, n)
		require.Equal(t, int64(m.Len()), w.Size(), "Size after record %d", i)
		require.Greater(t, m.Len(), before+n, "record %d must be in the file when AddRecord returns", i)
	}
	require.Zero(t, m.syncs, "AddRecord must not sync")
	require.NoError(t, w.Sync())
	require.Equal(t, 1, m.syncs)
}

func TestWriterStickyError(t *testing.T) {
	t.Run("failed write", func(t *testing.T) {
		f := &failingLog{okWrites: 2}
		w := NewWriter(f)
		require.NoError(t, w.AddRecord(payload(10, 1)))
		require.NoError(t, w.AddRecord(payload(10, 2)))
		size := w.Size()
		err := w.AddRecord(payload(10, 3))
		require.ErrorIs(t, err, errDiskFull)
		require.Same(t, err, w.Err())
		require.Equal(t, size, w.Size())
		writes := f.writes
		for i := 0; i < 3; i++ {
			require.Same(t, err, w.AddRecord(payload(10, 4)), "AddRecord after the failure")
			require.Same(t, err, w.Sync(), "Sync after the failure")
		}
		require.Equal(t, writes, f.writes, "a broken Writer must not touch the file again")
		require.Zero(t, f.syncs, "a broken Writer must not sync")
	})

	t.Run("short write without an error", func(t *testing.T) {
		f := &failingLog{okWrites: 0, short: true}
		w := NewWriter(f)
		err := w.AddRecord(payload(100, 1))
		require.ErrorIs(t, err, io.ErrShortWrite)
		require.Same(t, err, w.AddRecord(nil))
	})

	t.Run("failed sync", func(t *testing.T) {
		f := &failingLog{okWrites: 100, syncErr: errDiskFull}
		w := NewWriter(f)
		require.NoError(t, w.AddRecord(payload(10, 1)))
		err := w.Sync()
		require.ErrorIs(t, err, errDiskFull)
		require.Same(t, err, w.AddRecord(payload(10, 2)))
		require.Same(t, err, w.Sync())
		require.Equal(t, 1, f.writes)
		require.Equal(t, 1, f.syncs)
	})
}

// TestAppendWriter checks that a Writer continuing a log at its size lays records out exactly as
// one Writer writing them all would, whatever the block offset it starts at.
func TestAppendWriter(t *testing.T) {
	first := [][]byte{payload(100, 1), payload(blockSize-headerSize-100-headerSize-3, 2)}
	second := [][]byte{payload(50, 3), payload(2*blockSize, 4), nil}
	for cut := 0; cut <= len(first); cut++ {
		t.Run(fmt.Sprintf("after %d records", cut), func(t *testing.T) {
			want := writeLog(t, append(append([][]byte{}, first[:cut]...), second...)...)

			var m memLog
			w := NewWriter(&m)
			for _, r := range first[:cut] {
				require.NoError(t, w.AddRecord(r))
			}
			w2 := NewAppendWriter(&m, w.Size())
			require.Equal(t, w.Size(), w2.Size())
			for _, r := range second {
				require.NoError(t, w2.AddRecord(r))
			}
			require.Equal(t, int64(len(want)), w2.Size())
			require.True(t, bytes.Equal(want, m.Bytes()), "appended log differs from one written in one go")
		})
	}
}

// TestWriterAllocs checks that steady-state appends allocate nothing.
func TestWriterAllocs(t *testing.T) {
	for _, n := range []int{0, 100, 64 << 10} {
		t.Run(fmt.Sprintf("size=%d", n), func(t *testing.T) {
			w := NewWriter(discardLog{})
			p := payload(n, 1)
			require.NoError(t, w.AddRecord(p))
			allocs := testing.AllocsPerRun(200, func() {
				if err := w.AddRecord(p); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
		})
	}
}

// discardLog is a SyncWriter that drops everything.
type discardLog struct{}

func (discardLog) Write(p []byte) (int, error) { return len(p), nil }
func (discardLog) Sync() error                 { return nil }
