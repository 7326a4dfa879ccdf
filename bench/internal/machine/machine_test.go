package machine

import (
	"os"
	"runtime"
	"testing"
)

func TestDescribe(t *testing.T) {
	in := Describe(t.TempDir())
	if in.Cores < 1 || in.Go == "" || in.Date == "" {
		t.Fatalf("Describe = %+v", in)
	}
	// Some virtual machines' kernels publish no cache sizes in sysfs; then "unknown" is right.
	_, err := os.Stat("/sys/devices/system/cpu/cpu0/cache")
	cachesPublished := err == nil
	for _, l := range in.Lines() {
		t.Logf("%s: %s", l[0], l[1])
		if runtime.GOOS == "linux" && l[1] == "unknown" && l[0] != "Strata" && (l[0] != "Caches" || cachesPublished) {
			t.Errorf("%s unknown on Linux", l[0])
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/my\040disk`); got != "/mnt/my disk" {
		t.Errorf("unescapeMount = %q", got)
	}
}
