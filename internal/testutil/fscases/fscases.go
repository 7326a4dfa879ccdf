// Package fscases lists the filesystems that tests outside package vfs run a case over: the OS
// filesystem, the in-memory one, and each wrapped in fault injection that injects nothing (so the
// wrapper's pass-through is tested too). Package vfs's own conformance test keeps its list inside
// the package, which cannot import this one.
package fscases

import (
	"testing"

	"github.com/stratadb/strata/vfs"
)

// Case is one filesystem under test.
type Case struct {
	Name string
	// Setup returns a fresh filesystem and an existing, empty directory in it.
	Setup func(t *testing.T) (vfs.FS, string)
}

// All returns the cases: os, mem, faults-mem, faults-os.
func All() []Case {
	memDir := func(t *testing.T, fs vfs.FS) string {
		const dir = "/case"
		if err := fs.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return []Case{
		{"os", func(t *testing.T) (vfs.FS, string) { return vfs.NewOS(), t.TempDir() }},
		{"mem", func(t *testing.T) (vfs.FS, string) {
			fs := vfs.NewMem()
			return fs, memDir(t, fs)
		}},
		{"faults-mem", func(t *testing.T) (vfs.FS, string) {
			fs := vfs.WithFaults(vfs.NewMem(), vfs.NewCounter())
			return fs, memDir(t, fs)
		}},
		{"faults-os", func(t *testing.T) (vfs.FS, string) {
			return vfs.WithFaults(vfs.NewOS(), vfs.NewCounter()), t.TempDir()
		}},
	}
}
