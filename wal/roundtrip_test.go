package wal

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/testseed"
)

// randomSize picks a record size that exercises the layout: mostly small records, some large
// ones, and some sized to end a given number of bytes (0 to headerSize+1) before the block ends.
func randomSize(rng *rand.Rand, size int64) int {
	switch k := rng.Intn(100); {
	case k < 35:
		return rng.Intn(17)
	case k < 65:
		return rng.Intn(300)
	case k < 80:
		return rng.Intn(5000)
	case k < 95:
		room := blockSize - int(size%blockSize) - headerSize // payload that fills the block
		if room < 0 {
			room = blockSize - headerSize // the record will start in the next block
		}
		return max(0, room-rng.Intn(headerSize+2))
	default:
		return rng.Intn(200 << 10)
	}
}

// TestRoundTripRandom writes random records, sometimes continuing the log with a fresh
// NewAppendWriter, and reads them back through a reader that returns short reads.
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(int64(testseed.Seed(t))))
	var m memLog
	w := NewWriter(&m)
	var recs [][]byte
	var starts []int64
	for i := 0; i < 800; i++ {
		if rng.Intn(50) == 0 {
			w = NewAppendWriter(&m, w.Size())
		}
		p := make([]byte, randomSize(rng, w.Size()))
		rng.Read(p)
		start := w.Size()
		if blockSize-start%blockSize < headerSize {
			start += blockSize - start%blockSize
		}
		require.NoError(t, w.AddRecord(p))
		require.Equal(t, int64(m.Len()), w.Size())
		recs = append(recs, p)
		starts = append(starts, start)
	}
	log := m.Bytes()
	require.Equal(t, len(recs), m.writes, "one Write per record")
	walk(t, log) // every fragment checksums and every short tail is zeros

	for name, src := range map[string]io.Reader{
		"whole":      bytes.NewReader(log),
		"half reads": iotest.HalfReader(bytes.NewReader(log)),
		"one byte":   iotest.OneByteReader(bytes.NewReader(log)),
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src, "random.log")
			for i := 0; ; i++ {
				rec, err := r.Next()
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					require.Equal(t, len(recs), i, "records read")
					return
				}
				require.Less(t, i, len(recs))
				if !bytes.Equal(recs[i], rec) {
					t.Fatalf("record %d: got %d bytes, want %d bytes as written", i, len(rec), len(recs[i]))
				}
				require.Equal(t, starts[i], r.Offset(), "offset of record %d", i)
			}
		})
	}
}
