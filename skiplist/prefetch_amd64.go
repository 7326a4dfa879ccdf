package skiplist

import "unsafe"

// prefetchLine asks the CPU to load the cache line holding p into every cache level, without
// waiting for it: the PREFETCHT0 instruction, behind a call into assembly (a few cycles). It has
// no effect a program can observe but time: it reads nothing into the program, faults on no
// address and orders nothing, so it may be given any address and the race detector need not
// see it.
//
//go:noescape
func prefetchLine(p unsafe.Pointer)
