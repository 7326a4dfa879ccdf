package batch

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// header builds a batch header.
func header(seq uint64, count uint32) []byte {
	return coding.AppendFixed32(coding.AppendFixed64(nil, seq), count)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestMalformed checks every way a batch can be malformed. Each case must be rejected by
// NewReader or Next with a *dberr.CorruptionError that names the file and offset given, by
// Validate and by Apply (which then calls nothing), and must never panic.
func TestMalformed(t *testing.T) {
	put := []byte{1, 1, 'k', 1, 'v'}
	del := []byte{0, 1, 'k'}
	cases := []struct {
		name   string
		repr   []byte
		reason string
	}{
		{"empty", nil, "0 bytes, shorter than the 12-byte header"},
		{"short header", header(1, 0)[:11], "11 bytes, shorter than the 12-byte header"},
		{"bad tag", cat(header(1, 1), []byte{2, 1, 'k'}), "entry 0 at byte 12: unknown tag 0x02"},
		{"bad tag 0xff after a good entry", cat(header(1, 2), put, []byte{0xff}), "entry 1 at byte 17: unknown tag 0xff"},
		{"missing key length", cat(header(1, 1), []byte{1}), "entry 0 at byte 12: truncated key length"},
		{"truncated key length", cat(header(1, 1), []byte{1, 0x80}), "truncated key length"},
		{"truncated key", cat(header(1, 1), []byte{0, 5, 'a', 'b'}), "truncated key"},
		{"key length past 32 bits", cat(header(1, 1), []byte{0, 0xff, 0xff, 0xff, 0xff, 0x7f}), "key length overflows 32 bits"},
		{"huge key length", cat(header(1, 1), []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f}), "truncated key"},
		{"key length not minimal", cat(header(1, 1), []byte{0, 0x81, 0x00, 'k'}), "key length is not a minimal varint"},
		{"missing value length", cat(header(1, 1), []byte{1, 1, 'k'}), "truncated value length"},
		{"truncated value length", cat(header(1, 1), []byte{1, 1, 'k', 0xc8}), "truncated value length"},
		{"truncated value", cat(header(1, 1), []byte{1, 1, 'k', 3, 'v'}), "truncated value"},
		{"value length not minimal", cat(header(1, 1), []byte{1, 1, 'k', 0x80, 0x80, 0x00}), "value length is not a minimal varint"},
		{"count larger than entries", cat(header(1, 3), put, del), "header counts 3 entries, but the batch holds 2"},
		{"count smaller than entries", cat(header(1, 1), put, del, put), "header counts 1 entries, but the batch holds 3"},
		{"count zero with entries", cat(header(1, 0), del), "header counts 0 entries, but the batch holds 1"},
		{"count with no entries", header(1, 1), "header counts 1 entries, but the batch holds 0"},
		{"trailing garbage", cat(header(1, 1), put, []byte{7, 7}), "2 trailing bytes at byte 17, after the last of 1 entries"},
		{"trailing partial entry", cat(header(1, 2), put, del, []byte{1, 4, 'a'}), "3 trailing bytes at byte 20"},
		{"sequence overflow", cat(header(uint64(keys.MaxSeqNum), 2), put, del), "sequence number 72057594037927935 with 2 entries passes the maximum"},
		{"sequence past the maximum", cat(header(uint64(keys.MaxSeqNum)+1, 0)), "passes the maximum"},
		{"sequence near 2^64", cat(header(1<<64-1, 1), put), "passes the maximum"},
		{"count near 2^32", cat(header(1, 1<<32-1), put), "header counts 4294967295 entries, but the batch holds 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireCorrupt := func(err error) {
				t.Helper()
				require.ErrorIs(t, err, dberr.ErrCorruption)
				var ce *dberr.CorruptionError
				require.True(t, errors.As(err, &ce))
				require.Equal(t, "000005.log", ce.File)
				require.Equal(t, int64(4096), ce.Offset)
				require.Contains(t, ce.Reason, c.reason)
			}
			r, err := NewReader(c.repr, "000005.log", 4096)
			if err == nil {
				for _, _, _, ok := r.Next(); ok; _, _, _, ok = r.Next() {
				}
				err = r.Err()
			} else {
				_, _, _, ok := r.Next()
				require.False(t, ok, "a Reader with a bad header yields nothing")
				require.Equal(t, err, r.Err())
			}
			requireCorrupt(err)
			_, _, _, ok := r.Next()
			require.False(t, ok, "Next stays false after an error")

			requireCorrupt(Validate(c.repr, "000005.log", 4096))
			calls := 0
			requireCorrupt(Apply(c.repr, "000005.log", 4096, func(keys.SeqNum, keys.Kind, []byte, []byte) error {
				calls++
				return nil
			}))
			require.Zero(t, calls)
		})
	}

	t.Run("last entry at the maximum sequence is fine", func(t *testing.T) {
		require.NoError(t, Validate(cat(header(uint64(keys.MaxSeqNum)-1, 2), put, del), "", 0))
		require.NoError(t, Validate(cat(header(uint64(keys.MaxSeqNum), 1), put), "", 0))
		require.NoError(t, Validate(header(uint64(keys.MaxSeqNum), 0), "", 0))
	})

	t.Run("every truncation of a good batch is rejected", func(t *testing.T) {
		good := build(5, []op{{keys.KindSet, "key", "value"}, {keys.KindDelete, "gone", ""}, {keys.KindSet, "", ""}})
		for n := 0; n < len(good); n++ {
			require.ErrorIs(t, Validate(good[:n], "", 0), dberr.ErrCorruption, "first %d bytes", n)
		}
		require.NoError(t, Validate(good, "", 0))
	})
}
