package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/bench/internal/child"
	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/internal/benchgen"
)

// phase is one part of the workload: what the process wrote during it and how long it took.
type phase struct {
	Name         string  `json:"name"`
	WrittenBytes int64   `json:"written_bytes"` // wchar, plus bytes written through mappings, during the phase
	Seconds      float64 `json:"seconds"`
}

// result is one engine's measurement.
type result struct {
	Engine       string  `json:"engine"`
	Num          int     `json:"num"`
	UserBytes    int64   `json:"user_bytes"`    // keys and values of every put
	WrittenBytes int64   `json:"written_bytes"` // the same from before Open to after Close
	TablesFirst  int64   `json:"tables_first"`  // live table bytes after the first compaction
	TablesSecond int64   `json:"tables_second"` // after the second
	DirBytes     int64   `json:"dir_bytes"`     // every file in the directory after Close
	Phases       []phase `json:"phases"`
}

func (r result) writeAmp() float64 { return float64(r.WrittenBytes) / float64(r.UserBytes) }
func (r result) spaceAmp() float64 { return float64(r.TablesSecond) / float64(r.TablesFirst) }

// wchar returns the bytes this process has handed to write(2) and its relatives so far, all
// threads (cgo's included) counted.
func wchar() (int64, error) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, fmt.Errorf("amp needs /proc/self/io (Linux): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/self/io has no wchar line")
}

// Seeds of the three passes' orders: db_bench-style seeds, one per pass.
var passSeeds = []uint32{1001, 1002, 1003}

// RunChild measures the engine of -engine in -child_dir and emits the result.
func (c *config) RunChild() error {
	e, err := c.ChildEngine()
	if err != nil {
		return err
	}
	res, err := measure(c, e, c.ChildDir)
	if err != nil {
		return err
	}
	return child.Emit(res)
}

// measure runs the workload on e in dir, in this process.
func measure(c *config, e *engine.Engine, dir string) (result, error) {
	// The orders are drawn before the measurement starts: they cost time, not writes.
	orders := make([][]int32, len(passSeeds))
	for i, s := range passSeeds {
		orders[i] = benchgen.Permutation(c.num, s)
	}
	gen := benchgen.NewValueGenerator(c.compressionRatio)
	res := result{Engine: e.Name, Num: c.num}

	var mapped engine.MappedWriter // set once the DB is open, if it writes through mappings
	written := func() (int64, error) {
		n, err := wchar()
		if mapped != nil {
			n += mapped.MappedBytes()
		}
		return n, err
	}
	begin, err := written()
	if err != nil {
		return res, err
	}
	last, lastTime := begin, time.Now()
	mark := func(name string) error {
		now, err := written()
		if err != nil {
			return err
		}
		t := time.Now()
		res.Phases = append(res.Phases, phase{Name: name, WrittenBytes: now - last, Seconds: t.Sub(lastTime).Seconds()})
		last, lastTime = now, t
		return nil
	}

	d, err := e.Open(dir, engine.DefaultSettings())
	if err != nil {
		return res, err
	}
	mapped, _ = d.(engine.MappedWriter)
	var key []byte
	put := func(order []int32) error {
		for _, k := range order {
			key = benchgen.FormatKey(key[:0], int(k))
			v := gen.Generate(c.valueSize)
			if err := d.Put(key, v, false); err != nil {
				return err
			}
			res.UserBytes += int64(len(key) + len(v))
		}
		return nil
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"fill", func() error { return put(orders[0]) }},
		{"compact", d.CompactAll},
		{"tables", func() (err error) { res.TablesFirst, err = d.TableBytes(); return err }},
		{"overwrite 1", func() error { return put(orders[1]) }},
		{"overwrite 2", func() error { return put(orders[2]) }},
		{"compact again", d.CompactAll},
		{"tables again", func() (err error) { res.TablesSecond, err = d.TableBytes(); return err }},
		{"close", d.Close},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return res, fmt.Errorf("%s: %s: %w", e.Name, s.name, err)
		}
		if !strings.HasPrefix(s.name, "tables") {
			if err := mark(s.name); err != nil {
				return res, err
			}
		}
	}
	res.WrittenBytes = last - begin
	res.DirBytes, err = dirBytes(dir)
	return res, err
}

func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		fi, err := de.Info()
		if err == nil {
			total += fi.Size()
		}
		return err
	})
	return total, err
}
