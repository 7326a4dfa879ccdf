package offheap

import (
	"runtime"
	"testing"
)

// TestAllocFree: a buffer is zeroed, writable to its last byte, mapped on unix systems, and
// empty after Free (which a second call leaves alone).
func TestAllocFree(t *testing.T) {
	for _, n := range []int{1, 4096, 3 << 20} {
		m := Alloc(n)
		b := m.Bytes()
		if len(b) != n {
			t.Fatalf("Alloc(%d): %d bytes", n, len(b))
		}
		for i := 0; i < n; i += 4093 {
			if b[i] != 0 {
				t.Fatalf("Alloc(%d): byte %d is %d", n, i, b[i])
			}
			b[i] = 1
		}
		b[n-1] = 2
		if runtime.GOOS == "linux" && !m.Mapped() {
			t.Errorf("Alloc(%d) is not a mapping on linux", n)
		}
		m.Free()
		if m.Bytes() != nil || m.Mapped() {
			t.Errorf("after Free: %d bytes, mapped %v", len(m.Bytes()), m.Mapped())
		}
		m.Free()
	}
}
