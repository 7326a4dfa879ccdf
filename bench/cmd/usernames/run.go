package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// result is one engine's run, as --json writes it.
type result struct {
	Engine       string  `json:"engine"`
	N            int64   `json:"n"`
	LoadS        float64 `json:"load_s"`
	VerifyS      float64 `json:"verify_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"` // VmHWM of the engine's process, both phases
	DiskBytes    int64   `json:"disk_bytes"`     // the DB's files after the load
	Missing      int64   `json:"missing"`        // names of the input not found
	FalseFound   int64   `json:"false_found"`    // absent names found
	Error        string  `json:"error,omitempty"`
}

// childReport is what a child sends its parent: the result, and what only the text report
// shows.
type childReport struct {
	Result           result   `json:"result"`
	LoadPeakRSSBytes int64    `json:"load_peak_rss_bytes"` // VmHWM when the load had finished
	MissingExamples  []string `json:"missing_examples,omitempty"`
	FalseExamples    []string `json:"false_examples,omitempty"`
}

// job is one engine's run: load the input into a new DB in dir, then verify it.
type job struct {
	a      *adapter
	dir    string // the DB's directory, which must not exist
	input  string
	n      int64
	absent [][]byte
	plan   memPlan
	log    io.Writer // the progress lines
}

// examples is how many missing and falsely found names a report quotes.
const examples = 5

// run loads and verifies, and reports the process's peak RSS (which is the engine's when run
// is all its process does, as in a child).
func (j *job) run() (childReport, error) {
	rep := childReport{Result: result{Engine: j.a.name, N: j.n}}
	var outLoad, outVerify int64
	if j.a.outsideGo != nil {
		outLoad, outVerify = j.a.outsideGo(j.plan)
	}
	// The Go heap's limit in each phase: the budget, less what the engine allocates where Go
	// does not count.
	goLimit := func(outside int64) int64 { return max(j.plan.Budget-outside, j.plan.Budget/4) }
	prev := debug.SetMemoryLimit(goLimit(outLoad))
	defer debug.SetMemoryLimit(prev)

	start := time.Now()
	stop := j.startProfile("load")
	err := j.load()
	stop()
	if err != nil {
		return rep, fmt.Errorf("load: %w", err)
	}
	rep.Result.LoadS = time.Since(start).Seconds()
	rep.LoadPeakRSSBytes = peakRSS()
	debug.FreeOSMemory() // the load's chunk is garbage: back to the system before the verify
	if rep.Result.DiskBytes, err = dirBytes(j.dir); err != nil {
		return rep, err
	}

	debug.SetMemoryLimit(goLimit(outVerify))
	start = time.Now()
	stop = j.startProfile("verify")
	err = j.verify(&rep)
	stop()
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	rep.Result.VerifyS = time.Since(start).Seconds()
	rep.Result.PeakRSSBytes = peakRSS()
	return rep, nil
}

// load reads the input a chunk at a time into a new DB, has the engine make it durable and
// close it, and syncs every file of the DB and its directory (a no-op for an engine that synced
// them itself; for one that did not, the price of durability).
func (j *job) load() error {
	st := newStages(j.log, j.a.name+" load")
	defer st.print()
	f, err := os.Open(j.input)
	if err != nil {
		return err
	}
	defer f.Close()
	l, err := j.a.load(j.dir, j.plan)
	if err != nil {
		return err
	}
	st.end("open")
	chunkBytes := j.plan.LoadChunk
	if j.a.loadChunk != nil {
		chunkBytes = j.a.loadChunk(j.plan)
	}
	c := newChunk(chunkBytes, j.n)
	cr := newChunkReader(f)
	p := startProgress(j.log, j.a.name+" load", j.n)
	chunks := 0
	for {
		ok, err := cr.next(c)
		if err == nil && ok {
			chunks++
			err = l.add(c, p.add)
		}
		if err != nil {
			p.stop()
			l.finish()
			return err
		}
		if !ok {
			break
		}
	}
	p.done.Store(j.n) // with the last batch, which finish writes
	p.stop()
	st.end(chunksStage(chunks))
	if err := l.finish(); err != nil {
		return err
	}
	st.end("finish")
	err = syncTree(j.dir)
	st.end("fsync")
	return err
}

// verify reopens the DB and looks up every name of the input, a chunk at a time in the file's
// order, then the absent names.
func (j *job) verify(rep *childReport) error {
	st := newStages(j.log, j.a.name+" verify")
	defer st.print()
	f, err := os.Open(j.input)
	if err != nil {
		return err
	}
	defer f.Close()
	ch, err := j.a.verify(j.dir, j.plan)
	if err != nil {
		return err
	}
	st.end("open")
	chunkBytes := j.plan.VerifyChunk
	if j.a.verifyChunk != nil {
		chunkBytes = j.a.verifyChunk(j.plan)
	}
	var c *chunk
	if j.a.verifySlices {
		c = newSliceChunk(chunkBytes, j.n+absentN)
		defer c.free()
	} else {
		c = newChunk(chunkBytes, j.n+absentN)
	}
	cr := newChunkReader(f)
	p := startProgress(j.log, j.a.name+" verify", j.n)
	missing := func(name []byte) {
		rep.Result.Missing++
		if len(rep.MissingExamples) < examples {
			rep.MissingExamples = append(rep.MissingExamples, string(name))
		}
	}
	chunks := 0
	for {
		ok, err := cr.next(c)
		if err == nil && ok {
			chunks++
			err = ch.check(c, missing, p.add)
		}
		if err != nil {
			p.stop()
			ch.close()
			return err
		}
		if !ok {
			break
		}
	}
	p.stop()
	st.end(chunksStage(chunks))
	// The absent names, as a chunk of their own: each is found unless reported missing.
	c.reset()
	for _, name := range j.absent {
		c.add(name)
	}
	notFound := map[string]bool{}
	if err := ch.check(c, func(name []byte) { notFound[string(name)] = true }, func(int) {}); err != nil {
		ch.close()
		return err
	}
	for _, name := range j.absent {
		if !notFound[string(name)] {
			rep.Result.FalseFound++
			rep.FalseExamples = append(rep.FalseExamples, string(name))
		}
	}
	st.end("absent names")
	err = ch.close()
	st.end("close")
	return err
}

// chunksStage names the stage that reads and handles n chunks.
func chunksStage(n int) string {
	if n == 1 {
		return "1 chunk"
	}
	return fmt.Sprintf("%d chunks", n)
}

// stages times the stages of a phase and prints them on one line: where the time went.
type stages struct {
	log   io.Writer
	what  string
	last  time.Time
	parts []string
}

func newStages(log io.Writer, what string) *stages {
	return &stages{log: log, what: what, last: time.Now()}
}

// end ends the stage called name.
func (s *stages) end(name string) {
	now := time.Now()
	s.parts = append(s.parts, fmt.Sprintf("%s %.2f s", name, now.Sub(s.last).Seconds()))
	s.last = now
}

func (s *stages) print() {
	fmt.Fprintf(s.log, "%-18s %s\n", s.what, strings.Join(s.parts, ", "))
}

// peakRSS returns the process's peak resident set size, VmHWM in /proc/self/status, in bytes;
// 0 where there is no such file. The kernel keeps the high-water mark, so reading it at the end
// gives the peak of the whole run.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusKiB(b, "VmHWM:") << 10
}

// statusKiB returns the value of field ("VmHWM:") in a /proc status file, in KiB, or 0.
func statusKiB(status []byte, field string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field))
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
		return kb
	}
	return 0
}

// dirBytes returns the total size of the files under dir.
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	return total, err
}

// syncTree fsyncs every file under dir, and the directories.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// progress prints a line on log while a phase runs: names done, names per second and the time
// left at that rate. On a terminal it rewrites one line every second; elsewhere it writes a
// line every ten seconds.
type progress struct {
	done  atomic.Int64
	stopc chan struct{}
	ended chan struct{}
}

func startProgress(log io.Writer, what string, total int64) *progress {
	p := &progress{stopc: make(chan struct{}), ended: make(chan struct{})}
	every, end := 10*time.Second, "\n"
	if f, ok := log.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			every, end = time.Second, "\r"
		}
	}
	start := time.Now()
	line := func(final bool) {
		done := p.done.Load()
		secs := time.Since(start).Seconds()
		rate := float64(done) / secs
		eta := "?"
		if rate > 0 {
			eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
		}
		if final {
			fmt.Fprintf(log, "%-18s %d names in %.1f s, %.2f M names/s%20s\n", what, done, secs, rate/1e6, "")
			return
		}
		fmt.Fprintf(log, "%-18s %d of %d names (%.0f%%), %.2f M names/s, ETA %s%8s%s",
			what, done, total, 100*float64(done)/float64(max(total, 1)), rate/1e6, eta, "", end)
	}
	go func() {
		defer close(p.ended)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				line(false)
			case <-p.stopc:
				line(true)
				return
			}
		}
	}()
	return p
}

// add records k more names done.
func (p *progress) add(k int) { p.done.Add(int64(k)) }

// stop prints the final line and ends the printing.
func (p *progress) stop() {
	close(p.stopc)
	<-p.ended
}
