package main

import (
	"regexp"
	"testing"
)

// TestVersion: --version (and the version command) prints one line naming the program, its
// version and the Go toolchain, and exits 0.
func TestVersion(t *testing.T) {
	line := regexp.MustCompile(`^sstdump \S+ \(go\S+ \S+/\S+\)\n$`)
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		r := runCmd(args...)
		if r.code != 0 || !line.MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("sstdump %s: %+v", args[0], r)
		}
	}
	if r := runCmd("version", "x"); r.code != exitUsage {
		t.Errorf("sstdump version x: %+v, want exit status %d", r, exitUsage)
	}
}
