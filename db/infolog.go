package db

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/vfs"
)

// infoLog writes the human-readable LOG file of a DB directory: opens, flushes, compactions and
// errors, one timestamped line each, as leveldb's LOG does. Lines written before the log is
// attached to its file (while Open still validates the directory) are kept in memory, so that an
// Open that fails changes nothing on disk; attach writes them out. With a logger
// (Options.Logger) every line goes to it at level Info instead, and there is no LOG file. Safe
// for concurrent use.
type infoLog struct {
	logger  *slog.Logger // set before first use, never changed
	mu      sync.Mutex
	f       vfs.File
	pending []string
}

// attach rotates LOG to LOG.old, starts a new LOG and writes the pending lines to it. A failure
// is not fatal to the DB: the log is then dropped.
func (l *infoLog) attach(fs vfs.FS, dir string) {
	if l.logger != nil {
		return
	}
	cur := filepath.Join(dir, filenames.InfoLogName)
	_ = fs.Rename(cur, filepath.Join(dir, filenames.OldInfoLogName)) // fine if there was none
	f, err := fs.Create(cur)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.pending = nil
		return
	}
	l.f = f
	for _, line := range l.pending {
		_, _ = f.Write([]byte(line))
	}
	l.pending = nil
}

// Printf writes one line.
func (l *infoLog) Printf(format string, args ...any) {
	if l.logger != nil {
		l.logger.Info(strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"))
		return
	}
	line := time.Now().Format("2006/01/02-15:04:05.000000 ") + fmt.Sprintf(format, args...)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		line += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		if len(l.pending) < 1000 {
			l.pending = append(l.pending, line)
		}
		return
	}
	_, _ = l.f.Write([]byte(line))
}

// close closes the LOG file.
func (l *infoLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
	l.pending = nil
}
