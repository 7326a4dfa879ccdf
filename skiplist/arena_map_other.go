//go:build !unix

package skiplist

// mapArenaBuf makes no mapping here: arenas stay on the Go heap.
func mapArenaBuf(n int) ([]byte, bool) { return nil, false }

// unmapArenaBuf is never called here.
func unmapArenaBuf(b []byte) {}
