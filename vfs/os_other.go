//go:build !unix

package vfs

import "os"

// On systems without fcntl record locks (Windows, Plan 9, wasm), Lock relies on the in-process
// lock table alone: it excludes other Lock calls in this process but not other processes. OS
// files there do not implement Mappable; readers fall back to ReadAt.

func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
