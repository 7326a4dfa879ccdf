// Package buildinfo tells which version of Strata a program was built from, for the commands'
// --version flag. It reads what the Go toolchain records in the binary (runtime/debug's build
// information), so a release needs no version constant to be kept in step with its tag.
//
// Invariant: Version never returns an empty string and never panics, whatever the binary
// records (a test binary, a build with -buildvcs=false, a binary built outside a module).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version returns the version of the module the running program was built from:
//
//   - the module version, when the toolchain recorded one: the release tag for a binary
//     built with `go install github.com/stratadb/strata/cmd/sstdump@v1.2.3`, or a
//     pseudo-version (v0.0.0-20261206205808-a675fda1d2c3, "+dirty" when the checkout had
//     changes) for a build from a checkout;
//   - otherwise "devel-" and the first 12 digits of the VCS revision, with "+dirty" when the
//     checkout had uncommitted changes;
//   - otherwise "devel" (go run, a test binary, -buildvcs=false).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	return version(bi, ok)
}

// Line returns the line a command prints for --version: the program's name, Version, and the
// Go version and platform it was built for ("sstdump v1.2.3 (go1.23.4 linux/amd64)").
func Line(program string) string {
	return fmt.Sprintf("%s %s (%s %s/%s)", program, Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// version is Version over build information that may be missing (ok false).
func version(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel-" + rev[:min(len(rev), 12)]
	if dirty {
		v += "+dirty"
	}
	return v
}
