package prefetch

import "unsafe"

// Line asks for the cache line holding p to be loaded into every cache level, without waiting
// for it (see the package documentation).
//
//go:noescape
func Line(p unsafe.Pointer)
