package skiplist

import (
	"testing"
	"unsafe"
)

// TestPrefetchLine checks that prefetchLine leaves memory alone and survives an address a load
// would fault on.
func TestPrefetchLine(t *testing.T) {
	b := []byte{1, 2, 3}
	prefetchLine(unsafe.Pointer(&b[1]))
	prefetchLine(nil)
	if b[0] != 1 || b[1] != 2 || b[2] != 3 {
		t.Fatalf("memory changed: %v", b)
	}
}
