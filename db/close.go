package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/vfs"
)

// Close waits for the write in progress and for background work, closes every file and releases
// the directory's lock. Later calls on the DB, its iterators and snapshots return ErrClosed;
// closing twice returns ErrClosed. Writes that returned are in the log (fsynced if they asked
// for it), so nothing acknowledged is lost by closing without a flush, as with leveldb. Closing
// a read-only DB releases its shared lock and writes nothing.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.mu.closing {
		d.mu.Unlock()
		return ErrClosed
	}
	d.mu.closing = true
	d.closed.Store(true)
	d.mu.bgCond.Broadcast()
	d.budget.close()
	for d.commits.lenLocked() > 0 {
		d.mu.bgCond.Wait() // the last leader broadcasts once the queue is empty
	}
	d.mu.Unlock()
	<-d.bgDone

	d.mu.Lock()
	d.mu.closed = true
	bgErr := d.mu.bgErr
	var errs []error
	if d.mu.log != nil { // a read-only DB has no log
		if err := d.mu.log.f.Close(); err != nil {
			errs = append(errs, dberr.Wrap(err, "close log"))
		}
	}
	if prev := d.mu.prevLog; prev != nil { // a flush failed: its log is still needed
		d.mu.prevLog = nil
		if err := prev.close(); err != nil {
			errs = append(errs, dberr.Wrap(err, "close log"))
		}
	}
	d.mu.Unlock()

	if err := d.mu.vs.Close(); err != nil {
		errs = append(errs, err)
	}
	d.rsMu.Lock()
	rs := d.rs
	d.rs = nil // readers that got past the closed check now find nothing and return ErrClosed
	d.rsMu.Unlock()
	rs.unref()
	if err := d.tables.close(); err != nil {
		errs = append(errs, err)
	}
	// The DB's own uses of its memtables end here; then the spare goes too (see releaseMem).
	d.mu.Lock()
	mem, imm := d.mu.mem, d.mu.imm
	d.mu.Unlock()
	if mem != nil {
		d.releaseMem(mem)
	}
	if imm != nil {
		d.releaseMem(imm)
	}
	if spare := d.spareMem.Swap(nil); spare != nil {
		spare.Free()
	}
	d.events.close()
	d.info.Printf("closed %s", d.dir)
	d.info.close()
	if err := d.lock.Close(); err != nil {
		errs = append(errs, dberr.Wrap(err, "release lock"))
	}
	if bgErr != nil {
		errs = append(errs, bgErr)
	}
	return errors.Join(errs...)
}

// Destroy removes the DB in dir: every file a DB names (logs, tables, MANIFESTs, CURRENT, LOG),
// then the directory if nothing else is left in it. It fails with an error matching ErrLocked
// while the DB is open. A missing directory is not an error.
func Destroy(dir string) error {
	if dir == "" {
		return dberr.InvalidArgf("destroy: the directory path is empty")
	}
	return destroy(vfs.NewOS(), dir)
}

func destroy(fs vfs.FS, dir string) error {
	names, err := fs.List(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("strata: destroy %s: %w", dir, err)
	}
	lockPath := filepath.Join(dir, filenames.LockName)
	lock, err := fs.Lock(lockPath)
	if err != nil {
		return fmt.Errorf("strata: destroy %s: %w", dir, err)
	}
	var errs []error
	for _, n := range names {
		if kind, _, ok := filenames.Parse(n); ok && kind != filenames.Lock {
			if err := fs.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	lock.Close()
	_ = fs.Remove(lockPath)
	_ = fs.Remove(dir) // fails, harmlessly, if other files remain
	if len(errs) > 0 {
		return fmt.Errorf("strata: destroy %s: %w", dir, errors.Join(errs...))
	}
	return nil
}
