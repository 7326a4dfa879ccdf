//go:build !linux

package offheap

// adviseHuge has nothing to ask here.
func adviseHuge(b []byte) {}
