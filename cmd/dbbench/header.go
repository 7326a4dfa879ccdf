package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/stratadb/strata/internal/benchgen"
)

// printHeader prints db_bench's header: the environment, then the shape of the data.
func printHeader(w io.Writer, c *config) {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	fmt.Fprintf(w, "Strata:     %s\n", version)
	fmt.Fprintf(w, "Go:         %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "Date:       %s\n", time.Now().Format(time.ANSIC))
	if cpu := benchgen.ReadCPU(); cpu.Count > 0 {
		fmt.Fprintf(w, "CPU:        %d * %s\n", cpu.Count, cpu.Model)
		fmt.Fprintf(w, "CPUCache:   %s\n", cpu.CacheSize)
	}
	compressed := int(float64(c.valueSize)*c.compressionRatio + 0.5)
	if !c.compression {
		compressed = c.valueSize
	}
	fmt.Fprintf(w, "Keys:       %d bytes each\n", keySize)
	fmt.Fprintf(w, "Values:     %d bytes each (%d bytes after compression)\n", c.valueSize, compressed)
	fmt.Fprintf(w, "Entries:    %d\n", c.num)
	fmt.Fprintf(w, "RawSize:    %.1f MB (estimated)\n", float64(keySize+c.valueSize)*float64(c.num)/(1<<20))
	fmt.Fprintf(w, "FileSize:   %.1f MB (estimated)\n", float64(keySize+compressed)*float64(c.num)/(1<<20))
	if raceEnabled {
		fmt.Fprintln(w, "WARNING: built with the race detector; benchmarks are slow")
	}
	fmt.Fprintln(w, "------------------------------------------------")
}
