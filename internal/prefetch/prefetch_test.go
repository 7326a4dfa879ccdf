package prefetch

import (
	"testing"
	"unsafe"
)

// TestLine checks that Line leaves memory alone and survives an address a load would fault on.
func TestLine(t *testing.T) {
	b := []byte{1, 2, 3}
	Line(unsafe.Pointer(&b[1]))
	Line(nil)
	if b[0] != 1 || b[1] != 2 || b[2] != 3 {
		t.Fatalf("memory changed: %v", b)
	}
}

func BenchmarkLine(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := 0; i < b.N; i++ {
		Line(unsafe.Pointer(&buf[(i*4096)&(len(buf)-1)]))
	}
}
