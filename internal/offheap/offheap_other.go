//go:build !unix

package offheap

// mapAnon makes no mapping here: buffers stay on the Go heap.
func mapAnon(n int) ([]byte, bool) { return nil, false }

// unmapAnon is never called here.
func unmapAnon(b []byte) {}
