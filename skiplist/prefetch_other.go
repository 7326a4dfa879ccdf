//go:build !amd64

package skiplist

import "unsafe"

// prefetchLine does nothing on this architecture (see prefetch_amd64.go).
func prefetchLine(p unsafe.Pointer) {}
