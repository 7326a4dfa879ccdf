//go:build !unix

package vfs

import "os"

// On systems without fcntl record locks (Windows, Plan 9, wasm), Lock and LockShared rely on the
// in-process lock table alone: they exclude each other (and Lock excludes Lock) in this process
// but not in other processes. OS files there do not implement Mappable; readers fall back to
// ReadAt.

func lockFile(*os.File) error { return nil }

func lockFileShared(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
