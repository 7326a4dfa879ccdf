//go:build unix

package offheap

import "syscall"

// mapAnon returns n zero bytes in an anonymous private mapping, and whether it made one.
func mapAnon(n int) ([]byte, bool) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return b, true
}

// unmapAnon unmaps a buffer from mapAnon.
func unmapAnon(b []byte) { _ = syscall.Munmap(b) }
