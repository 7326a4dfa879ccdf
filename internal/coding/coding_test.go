package coding

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFixedKnownVectors(t *testing.T) {
	b := AppendFixed32(nil, 0x04030201)
	require.Equal(t, []byte{1, 2, 3, 4}, b)
	require.Equal(t, uint32(0x04030201), Fixed32(b))

	b = AppendFixed64(nil, 0x0807060504030201)
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, b)
	require.Equal(t, uint64(0x0807060504030201), Fixed64(b))

	var buf [8]byte
	PutFixed32(buf[:], math.MaxUint32)
	require.Equal(t, uint32(math.MaxUint32), Fixed32(buf[:]))
	PutFixed64(buf[:], 1<<63)
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, buf[:])
}

func TestVarintKnownVectors(t *testing.T) {
	cases := []struct {
		v   uint64
		enc []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x01}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{300, []byte{0xac, 0x02}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{math.MaxUint32, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{math.MaxUint64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, c := range cases {
		require.Equal(t, c.enc, AppendVarint64(nil, c.v), "encode %d", c.v)
		require.Equal(t, len(c.enc), VarintLen(c.v))
		v, n := Varint64(c.enc)
		require.Equal(t, c.v, v)
		require.Equal(t, len(c.enc), n)
		if c.v <= math.MaxUint32 {
			require.Equal(t, c.enc, AppendVarint32(nil, uint32(c.v)))
			var buf [MaxVarintLen32]byte
			require.Equal(t, len(c.enc), PutVarint32(buf[:], uint32(c.v)))
			require.Equal(t, c.enc, buf[:len(c.enc)])
			v32, n32 := Varint32(c.enc)
			require.Equal(t, uint32(c.v), v32)
			require.Equal(t, len(c.enc), n32)
		} else {
			_, n32 := Varint32(c.enc)
			require.Less(t, n32, 0, "%d does not fit 32 bits", c.v)
		}
	}
}

func TestVarintRoundTripMatchesStdlib(t *testing.T) {
	for shift := 0; shift < 64; shift++ {
		for _, delta := range []int64{-1, 0, 1} {
			v := uint64(1)<<uint(shift) + uint64(delta)
			enc := AppendVarint64(nil, v)
			require.Equal(t, binary.AppendUvarint(nil, v), enc)
			got, n := Varint64(enc)
			require.Equal(t, v, got)
			require.Equal(t, len(enc), n)
		}
	}
}

func TestVarintMalformed(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		_, n := Varint32(nil)
		require.Equal(t, 0, n)
		_, n = Varint64(nil)
		require.Equal(t, 0, n)
	})
	t.Run("truncated", func(t *testing.T) {
		_, n := Varint32([]byte{0x80, 0x80})
		require.Equal(t, 0, n)
		_, n = Varint64([]byte{0xff, 0xff, 0xff})
		require.Equal(t, 0, n)
	})
	t.Run("overlong32", func(t *testing.T) {
		_, n := Varint32([]byte{0xff, 0xff, 0xff, 0xff, 0x10})
		require.Less(t, n, 0)
		_, n = Varint32([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00})
		require.Less(t, n, 0)
	})
	t.Run("overlong64", func(t *testing.T) {
		_, n := Varint64([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
		require.Less(t, n, 0)
		_, n = Varint64([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})
		require.Less(t, n, 0)
	})
}

func TestLengthPrefixed(t *testing.T) {
	b := AppendLengthPrefixed(nil, []byte("hello"))
	b = AppendLengthPrefixed(b, nil)
	s, n, ok := LengthPrefixed(b)
	require.True(t, ok)
	require.Equal(t, "hello", string(s))
	require.Equal(t, 6, n)
	require.Equal(t, 5, cap(s), "the result must not expose the bytes after it")
	s, n, ok = LengthPrefixed(b[6:])
	require.True(t, ok)
	require.Empty(t, s)
	require.Equal(t, 1, n)

	_, _, ok = LengthPrefixed([]byte{5, 'a', 'b'})
	require.False(t, ok)
	_, _, ok = LengthPrefixed([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 'a'})
	require.False(t, ok)
	_, _, ok = LengthPrefixed(nil)
	require.False(t, ok)
}

func FuzzVarint(f *testing.F) {
	f.Add([]byte{0xac, 0x02})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, n := Varint64(b); n > 0 {
			want, m := binary.Uvarint(b)
			if m != n || want != v {
				t.Fatalf("Varint64(%x) = %d,%d; stdlib says %d,%d", b, v, n, want, m)
			}
			if got := AppendVarint64(nil, v); len(got) == n && string(got) != string(b[:n]) {
				t.Fatalf("re-encoding %d gave %x, input %x", v, got, b[:n])
			}
		}
		if v, n := Varint32(b); n > 0 {
			v64, m := Varint64(b)
			if m != n || uint64(v) != v64 {
				t.Fatalf("Varint32(%x) = %d,%d; Varint64 says %d,%d", b, v, n, v64, m)
			}
		}
		if s, n, ok := LengthPrefixed(b); ok && n > len(b) || len(s) > len(b) {
			t.Fatalf("LengthPrefixed read past its input")
		}
	})
}
