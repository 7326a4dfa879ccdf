package main

import "syscall"

// hugeAlloc returns n zero bytes outside the Go heap, in a private anonymous mapping the kernel
// is asked to back with transparent huge pages, and the function that unmaps it. A verify's
// chunk lives there: hundreds of megabytes of names and of slices of them, which the garbage
// collector would otherwise scan at each cycle (a second of CPU in a profiled verify of
// 100,000,000 names) and count in the heap that paces it, and which a batched lookup visits in
// sorted order, all over their memory (fewer TLB misses in 2 MiB pages). Such memory must hold
// no pointer into the Go heap. Where mapping fails, it falls back to the heap.
func hugeAlloc(n int) ([]byte, func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n), func() {}
	}
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // the mapping works the same without
	return b, func() { _ = syscall.Munmap(b) }
}
