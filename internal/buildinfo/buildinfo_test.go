package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	rev := "a675fda1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "devel"},
		{"release tag", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs("false")}, true, "v1.2.3"},
		{"pseudo-version", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206205808-a675fda1d2c3+dirty"}}, true,
			"v0.0.0-20261206205808-a675fda1d2c3+dirty"},
		{"devel, clean checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, true, "devel-a675fda1d2c3"},
		{"devel, changed checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, true, "devel-a675fda1d2c3+dirty"},
		{"no version, no VCS", &debug.BuildInfo{}, true, "devel"},
		{"short revision", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}}, true, "devel-abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := version(tc.bi, tc.ok); got != tc.want {
				t.Errorf("version = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	got := Line("sstdump")
	if !strings.HasPrefix(got, "sstdump "+Version()+" (") || !strings.Contains(got, runtime.Version()) {
		t.Errorf("Line = %q", got)
	}
	if Version() == "" {
		t.Error("Version is empty")
	}
}
