package crc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Vectors from RFC 3720 (iSCSI), appendix B.4, and the classic "123456789" check value.
func TestKnownVectors(t *testing.T) {
	buf := make([]byte, 32)
	require.Equal(t, uint32(0x8a9136aa), Value(buf), "32 zero bytes")

	for i := range buf {
		buf[i] = 0xff
	}
	require.Equal(t, uint32(0x62a8ab43), Value(buf), "32 bytes of 0xff")

	for i := range buf {
		buf[i] = byte(i)
	}
	require.Equal(t, uint32(0x46dd794e), Value(buf), "ascending 0..31")

	for i := range buf {
		buf[i] = byte(31 - i)
	}
	require.Equal(t, uint32(0x113fdb5c), Value(buf), "descending 31..0")

	// An iSCSI SCSI Read (10) command PDU.
	scsi := []byte{
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	require.Equal(t, uint32(0xd9963a56), Value(scsi), "iSCSI read command")

	require.Equal(t, uint32(0xe3069283), Value([]byte("123456789")))
}

func TestExtend(t *testing.T) {
	require.Equal(t, Value([]byte("hello world")), Extend(Value([]byte("hello ")), []byte("world")))
}

func TestMask(t *testing.T) {
	c := Value([]byte("foo"))
	require.NotEqual(t, c, Mask(c))
	require.NotEqual(t, c, Mask(Mask(c)))
	require.Equal(t, c, Unmask(Mask(c)))
	require.Equal(t, c, Unmask(Unmask(Mask(Mask(c)))))
	// The mask is a rotation by 15 plus a constant: check it on a value where that is easy to see.
	require.Equal(t, uint32(1<<17+maskDelta), Mask(1))
	for _, v := range []uint32{0, 1, 0x80000000, 0xffffffff, 0xdeadbeef} {
		require.Equal(t, v, Unmask(Mask(v)))
	}
}

func BenchmarkValue(b *testing.B) {
	for _, size := range []int{100, 4096} {
		buf := make([]byte, size)
		b.Run(map[int]string{100: "size=100", 4096: "size=4096"}[size], func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				Value(buf)
			}
		})
	}
}
