// Package machine describes the computer a benchmark runs on, from /proc and /sys (Linux; on
// other systems the fields it cannot read say "unknown"), so that every published figure comes
// with the CPU, memory, kernel, Go version and the disk and filesystem it was measured on.
package machine

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/internal/benchgen"
)

// Info is the description of the machine and of the directory the databases live in.
type Info struct {
	CPU        string // model name
	Cores      int    // logical CPUs
	Caches     string // "L1d 32K, L1i 32K, L2 1024K, L3 36608K" (per CPU 0)
	Memory     string // "23.5 GiB"
	Kernel     string // "Linux 6.18.44"
	Virtual    string // hypervisor, when /proc/cpuinfo says there is one
	Go         string // "go1.26.8 linux/amd64"
	Disk       string // filesystem and device of Dir
	Dir        string
	LoadAvg    string // /proc/loadavg's first three fields when Describe ran
	Date       string // RFC 3339, UTC
	StrataRev  string // git revision of the working tree, when git can tell
	StrataDiff bool   // the working tree had uncommitted changes
}

// Describe reads the machine's description; dir is where the databases go.
func Describe(dir string) Info {
	in := Info{
		CPU:     "unknown",
		Cores:   runtime.NumCPU(),
		Caches:  caches(),
		Memory:  memory(),
		Kernel:  kernel(),
		Go:      runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Dir:     dir,
		Disk:    disk(dir),
		LoadAvg: LoadAvg(),
		Date:    time.Now().UTC().Format(time.RFC3339),
	}
	if cpu := benchgen.ReadCPU(); cpu.Count > 0 {
		in.CPU = cpu.Model
		if cpu.Virtual {
			in.Virtual = "virtual machine"
		}
	}
	in.StrataRev, in.StrataDiff = gitRevision()
	return in
}

// Lines returns the description as "name: value" lines, in a fixed order.
func (in Info) Lines() [][2]string {
	cpu := fmt.Sprintf("%s, %d logical CPUs", in.CPU, in.Cores)
	if in.Virtual != "" {
		cpu += " (" + in.Virtual + ")"
	}
	rev := in.StrataRev
	if in.StrataDiff {
		rev += " with uncommitted changes"
	}
	return [][2]string{
		{"Date", in.Date},
		{"CPU", cpu},
		{"Caches", in.Caches},
		{"Memory", in.Memory},
		{"Kernel", in.Kernel},
		{"Go", in.Go},
		{"Disk", in.Disk},
		{"Load average at start", in.LoadAvg},
		{"Strata", rev},
	}
}

// Markdown returns Lines as a Markdown list, one "- name: value" item a line.
func (in Info) Markdown() string {
	var b strings.Builder
	for _, l := range in.Lines() {
		fmt.Fprintf(&b, "- %s: %s\n", l[0], l[1])
	}
	return b.String()
}

// Text returns Lines for a terminal, each name in a column of its own.
func (in Info) Text() string {
	var b strings.Builder
	for _, l := range in.Lines() {
		fmt.Fprintf(&b, "%-22s %s\n", l[0]+":", l[1])
	}
	return b.String()
}

func caches() string {
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu0/cache/index*")
	sort.Strings(dirs)
	var parts []string
	for _, d := range dirs {
		level, typ, size := readTrim(d+"/level"), readTrim(d+"/type"), readTrim(d+"/size")
		if level == "" || size == "" {
			continue
		}
		name := "L" + level
		switch typ {
		case "Data":
			name += "d"
		case "Instruction":
			name += "i"
		}
		parts = append(parts, name+" "+size)
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}

func memory() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

func kernel() string {
	rel := readTrim("/proc/sys/kernel/osrelease")
	if rel == "" {
		return runtime.GOOS
	}
	return readTrim("/proc/sys/kernel/ostype") + " " + rel
}

// LoadAvg returns the 1, 5 and 15 minute load averages, or "unknown".
func LoadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// disk describes the filesystem dir is on and the block device under it, from mountinfo and
// /sys/dev/block: "ext4 on /dev/vda (virtio_blk, rotational=1; rw,relatime,discard)".
func disk(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	var best []string
	var bestOpts, bestDev string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fp, fs := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fp) < 6 || len(fs) < 2 {
			continue
		}
		mp := unescapeMount(fp[4])
		if mp != "/" && abs != mp && !strings.HasPrefix(abs, mp+"/") {
			continue
		}
		if best == nil || len(mp) >= len(best[0]) {
			best = []string{mp, fs[0], fs[1]}
			bestOpts, bestDev = fp[5], fp[2]
			if len(fs) > 2 {
				bestOpts += "," + fs[2]
			}
		}
	}
	if best == nil {
		return "unknown"
	}
	s := fmt.Sprintf("%s on %s, mounted at %s", best[1], best[2], best[0])
	var dev []string
	sys := "/sys/dev/block/" + bestDev
	if drv, err := os.Readlink(sys + "/device/driver"); err == nil {
		dev = append(dev, filepath.Base(drv))
	} else if drv, err := os.Readlink(sys + "/../device/driver"); err == nil {
		dev = append(dev, filepath.Base(drv))
	}
	if m := readTrim(sys + "/device/model"); m != "" {
		dev = append(dev, m)
	}
	rot := readTrim(sys + "/queue/rotational")
	if rot == "" {
		rot = readTrim(sys + "/../queue/rotational") // a partition: its disk's queue
	}
	if rot != "" {
		dev = append(dev, "rotational="+rot)
	}
	if sectors, err := strconv.ParseInt(readTrim(sys+"/size"), 10, 64); err == nil && sectors > 0 {
		dev = append(dev, fmt.Sprintf("%.0f GiB", float64(sectors)*512/(1<<30)))
	}
	if len(dev) > 0 {
		s += " (" + strings.Join(dev, ", ") + ")"
	}
	return s + "; options " + dedupOpts(bestOpts)
}

func dedupOpts(opts string) string {
	var out []string
	seen := map[string]bool{}
	for _, o := range strings.Split(opts, ",") {
		if o != "" && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// gitRevision returns the commit of the working tree the command runs in and whether files
// outside bench/ differ from it (those are what the Strata figures measure).
func gitRevision() (rev string, dirty bool) {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not run in a git checkout)", false
	}
	rev = "commit " + strings.TrimSpace(string(out))
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return rev, false
	}
	st, err := exec.Command("git", "-C", strings.TrimSpace(string(top)), "status", "--porcelain",
		"--untracked-files=no", "--", ".", ":(exclude)bench", ":(exclude)docs").Output()
	return rev, err == nil && len(strings.TrimSpace(string(st))) > 0
}
