package benchgen

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// CPU is what /proc/cpuinfo says of the processors: the model and cache size db_bench's header
// prints, how many there are, and whether they run under a hypervisor.
type CPU struct {
	Model     string
	Count     int
	CacheSize string
	Virtual   bool
}

// ReadCPU reads /proc/cpuinfo; where there is none (other systems than Linux), it returns the
// zero CPU.
func ReadCPU() CPU {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return CPU{}
	}
	defer f.Close()
	return parseCPU(f)
}

// parseCPU reads the "name : value" lines of /proc/cpuinfo, one block per processor.
func parseCPU(r io.Reader) CPU {
	var c CPU
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "model name":
			c.Count++
			c.Model = v
		case "cache size":
			c.CacheSize = v
		case "flags":
			c.Virtual = c.Virtual || strings.Contains(" "+v+" ", " hypervisor ")
		}
	}
	return c
}
