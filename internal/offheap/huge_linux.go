package offheap

import "syscall"

// hugeMin is the size from which a mapping asks for transparent huge pages: a fresh page costs
// a fault as it is first written (microseconds on some virtual machines), and a huge page
// stands for 512 of them (a batched lookup's sort entries, 24 MiB for a batch of 1Mi keys
// and all written at once, cost 49 ns a key in small pages' faults). Smaller buffers (memtable
// arenas of a few MiB) keep small pages, whose residence follows what is written more closely.
const hugeMin = 16 << 20

// adviseHuge asks the kernel to back a large mapping with huge pages where it can (it may
// not; the mapping works the same).
func adviseHuge(b []byte) {
	if len(b) >= hugeMin {
		_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	}
}
