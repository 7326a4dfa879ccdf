//go:build unix

package skiplist

import "syscall"

// mapArenaBuf returns n zero bytes in an anonymous private mapping, and whether it made one.
func mapArenaBuf(n int) ([]byte, bool) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return b, true
}

// unmapArenaBuf unmaps a buffer from mapArenaBuf.
func unmapArenaBuf(b []byte) { _ = syscall.Munmap(b) }
