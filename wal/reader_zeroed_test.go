package wal

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReaderZeroedHeaderWithData: a zero header is skipped silently, with the rest of its block,
// only when the rest of the block is zero too (unwritten or preallocated space). A zero header
// with records behind it in its block is damage: strict mode reports corruption at the header,
// recovery mode reports the dropped rest of the block and goes on with the next one. Before
// this, both skipped the block silently, so a zeroed sector in the last block of a log or
// MANIFEST quietly lost the records behind it, even with paranoid checks (found by the
// corruption sweep of package db).
func TestReaderZeroedHeaderWithData(t *testing.T) {
	a, b, c := payload(10, 1), payload(20, 2), payload(30, 3)
	var l logBuilder
	l.frag(fullType, a)
	zeroAt := l.offset()
	l.zeros(headerSize).raw(payload(5, 9)) // a record whose header was zeroed
	l.frag(fullType, b)
	l.zeros(blockSize - int(l.offset()))
	l.frag(fullType, c)

	t.Run("strict", func(t *testing.T) {
		requireCorruptAt(t, l.b, [][]byte{a}, zeroAt)
	})
	t.Run("recovery", func(t *testing.T) {
		got, reps, err := recoverAll(t, l.b)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, c}, got)
		require.Len(t, reps, 1)
		require.Equal(t, zeroAt, reps[0].off)
		require.Equal(t, blockSize-int(zeroAt), reps[0].dropped)
	})
	t.Run("zero rest of block still silent", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a).zeros(headerSize + 100)
		got, reps, err := recoverAll(t, l.b)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a}, got)
		require.Empty(t, reps)
	})
}
