package db

import (
	"path/filepath"

	"github.com/stratadb/strata/internal/filenames"
)

// Background work.
//
// Two goroutines work in the background, each one job at a time until the DB closes:
//
//   - flushLoop writes the immutable memtable to a table (flush.go) as soon as there is one,
//     since writers wait for it once the next memtable fills;
//   - compactionLoop runs a queued CompactRange step, or the compaction the tree needs
//     (compact.go).
//
// So a flush never waits behind a long compaction, and on two cores the two run side by side.
// They change the tree concurrently under three rules. LogAndApply serializes their VersionEdits
// (compaction.VersionSet). A flush places its table below level 0 (when nothing overlaps it
// there) only while no compaction runs (d.mu.compacting), since a running compaction's outputs
// are not in the Version yet and could overlap it; and from that decision until its edit is
// installed (d.mu.flushInstalling) no compaction is picked, so the next one sees the new table.
// A table flushed to level 0 during a compaction is newer than everything the compaction
// reads, so the level order stays right. Obsolete files are deleted by one goroutine at a time.

// startBackground starts the background goroutines; d.bgDone is closed when both have exited.
func (d *DB) startBackground() {
	d.bgWG.Add(2)
	go d.flushLoop()
	go d.compactionLoop()
	go func() {
		d.bgWG.Wait()
		close(d.bgDone)
	}()
}

// flushLoop flushes the immutable memtable whenever there is one.
func (d *DB) flushLoop() {
	defer d.bgWG.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		for !d.mu.closing && (d.mu.bgErr != nil || d.mu.imm == nil) {
			d.mu.bgCond.Wait()
		}
		if d.mu.closing {
			return
		}
		d.flushLocked()
	}
}

// compactionLoop runs compactions while the tree needs them.
func (d *DB) compactionLoop() {
	defer d.bgWG.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		for !d.mu.closing && (d.mu.bgErr != nil || d.mu.flushInstalling || d.mu.loading || !d.needsCompactionLocked()) {
			d.mu.bgCond.Wait()
		}
		if d.mu.closing {
			return
		}
		d.mu.compacting = true
		d.compactLocked()
		d.mu.compacting = false
		d.mu.bgCond.Broadcast()
	}
}

// deleteObsoleteFilesLocked removes files no Version, reader or pending output needs: logs older
// than the MANIFEST's log number, MANIFESTs older than the current one, and tables nothing
// references. It does nothing after a background error, when the outcome of the failed update
// is unknown. d.mu is released while files are removed; a call made meanwhile (by the other
// background goroutine) leaves the work to the running one, which looks again when it is done.
func (d *DB) deleteObsoleteFilesLocked() {
	if d.mu.deleting {
		d.mu.deleteAgain = true
		return
	}
	d.mu.deleting = true
	for {
		d.mu.deleteAgain = false
		d.deleteObsoleteOnceLocked()
		if !d.mu.deleteAgain {
			break
		}
	}
	d.mu.deleting = false
}

// deleteObsoleteOnceLocked is one pass of deleteObsoleteFilesLocked.
func (d *DB) deleteObsoleteOnceLocked() {
	if d.mu.bgErr != nil {
		return
	}
	live := make(map[uint64]struct{}, len(d.mu.pendingOutputs)+64)
	for n := range d.mu.pendingOutputs {
		live[n] = struct{}{}
	}
	d.mu.vs.AddLiveFiles(live)
	logNum, prevLog, manifest := d.mu.vs.LogNumber(), d.mu.vs.PrevLogNumber(), d.mu.vs.ManifestFileNumber()
	names, err := d.fs.List(d.dir)
	if err != nil {
		d.info.Printf("listing %s for obsolete files: %v", d.dir, err)
		return
	}
	type doomed struct {
		name string
		kind filenames.Kind
		num  uint64
	}
	var del []doomed
	for _, name := range names {
		kind, num, ok := filenames.Parse(name)
		if !ok {
			continue
		}
		keep := true
		switch kind {
		case filenames.Log:
			keep = num >= logNum || num == prevLog
		case filenames.Manifest:
			keep = num >= manifest
		case filenames.Table, filenames.Temp:
			_, keep = live[num]
		}
		if !keep {
			del = append(del, doomed{name, kind, num})
		}
	}
	if len(del) == 0 {
		return
	}
	d.mu.Unlock()
	for _, f := range del {
		if f.kind == filenames.Table {
			d.tables.evict(f.num)
			d.blocks.EvictFile(f.num)
		}
		path := filepath.Join(d.dir, f.name)
		err := d.fs.Remove(path)
		d.info.Printf("delete %s %s: %v", f.kind, f.name, errOrOK(err))
		if err == nil && f.kind == filenames.Table {
			d.tableDeleted(f.num, path)
		}
	}
	d.mu.Lock()
}

func errOrOK(err error) any {
	if err == nil {
		return "ok"
	}
	return err
}
