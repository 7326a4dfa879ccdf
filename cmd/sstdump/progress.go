package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress shows how far a long check has come, on one line of stderr that it rewrites; only
// when stderr is a terminal, and only once the check has run for a second. A nil *progress
// does nothing, so callers never test for it.
type progress struct {
	w           io.Writer
	start, last time.Time
	shown       bool
	files       int // files started
	totalFiles  int
	bytes       int64 // bytes of the files checked so far
	totalBytes  int64
}

const (
	progressDelay = time.Second            // quiet checks stay quiet
	progressEvery = 250 * time.Millisecond // redraw at most this often
)

// newProgress returns a progress for stderr, or nil when stderr is not a terminal.
func newProgress(stderr io.Writer) *progress {
	f, ok := stderr.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	return &progress{w: stderr}
}

// begin starts a check of files holding totalBytes.
func (p *progress) begin(totalFiles int, totalBytes int64) {
	if p == nil {
		return
	}
	*p = progress{w: p.w, start: time.Now(), totalFiles: totalFiles, totalBytes: totalBytes}
}

// nextFile records that another file is being checked.
func (p *progress) nextFile() {
	if p == nil {
		return
	}
	p.files++
	p.tick()
}

// add records n more bytes checked.
func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.bytes += n
	p.tick()
}

func (p *progress) tick() {
	now := time.Now()
	if p.start.IsZero() || now.Sub(p.start) < progressDelay || now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	pct := 100.0
	if p.totalBytes > 0 {
		pct = 100 * float64(min(p.bytes, p.totalBytes)) / float64(p.totalBytes)
	}
	fmt.Fprintf(p.w, "\r\033[Ksstdump: checking file %d of %d, %.1f of %.1f MB (%.0f%%)",
		p.files, p.totalFiles, float64(p.bytes)/1e6, float64(p.totalBytes)/1e6, pct)
	p.shown = true
}

// clear erases the progress line, before other output or at the end.
func (p *progress) clear() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
	p.shown = false
}
