package db

// Repair, steps 7 and 8: the new MANIFEST and CURRENT, then the files replaced moved to lost/.

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
)

// writeManifest writes the new MANIFEST and points CURRENT at it; see step 7.
func (r *repairer) writeManifest() error {
	num := r.newFileNumber()
	slices.SortFunc(r.tables, func(a, b *repairTable) int { return cmp.Compare(a.num, b.num) })
	var e compaction.VersionEdit
	e.SetComparator(r.d.opts.Comparator.Name())
	e.SetLogNum(r.logNum)
	e.SetPrevLogNum(0)
	e.SetNextFileNum(r.next)
	e.SetLastSeq(r.lastSeq)
	for _, t := range r.tables {
		e.AddFile(0, t.meta)
	}
	// The tables' directory entries (new, renamed) must be durable before a MANIFEST names
	// them.
	if err := r.fs.SyncDir(r.dir); err != nil {
		return dberr.Wrap(err, "repair")
	}
	if _, err := compaction.WriteManifest(r.fs, r.dir, num, &e); err != nil {
		return dberr.Wrap(err, "repair")
	}
	r.logf("wrote MANIFEST-%06d: %d tables at level 0, log number %d, next file %d, last sequence %d",
		num, len(r.tables), r.logNum, r.next, r.lastSeq)
	for _, m := range r.manifests {
		r.archive = append(r.archive, filenames.Name(filenames.Manifest, m))
	}
	return nil
}

// cleanUp moves the replaced and unreadable files to lost/ and deletes the merged tables; see
// step 8. The repair is complete before it starts, so failures are reported, not returned: a
// file left behind is one Open deletes as obsolete.
func (r *repairer) cleanUp() {
	for _, name := range r.remove {
		if err := r.fs.Remove(r.path(name)); err != nil {
			r.logf("deleting %s: %v", name, err)
		}
	}
	if len(r.archive) == 0 {
		_ = r.fs.SyncDir(r.dir)
		return
	}
	lost := r.path(lostDirName)
	err := r.fs.MkdirAll(lost, 0o755)
	if err == nil {
		err = r.fs.SyncDir(r.dir)
	}
	if err != nil {
		r.logf("creating %s: %v; the files to set aside stay where they are", lost, err)
		return
	}
	for _, name := range r.archive {
		to := r.lostName(name)
		if err := r.fs.Rename(r.path(name), filepath.Join(lost, to)); err != nil {
			r.logf("moving %s to %s/: %v", name, lostDirName, err)
			continue
		}
		r.setAside = append(r.setAside, lostDirName+"/"+to)
		r.logf("moved %s to %s/%s", name, lostDirName, to)
	}
	// lost/ first: a crash between the two syncs leaves a file under both names, never neither.
	if err := r.fs.SyncDir(lost); err != nil {
		r.logf("syncing %s: %v", lost, err)
	}
	if err := r.fs.SyncDir(r.dir); err != nil {
		r.logf("syncing %s: %v", r.dir, err)
	}
}

// lostName returns a name for name in lost/ that is not taken: name itself, or name~N when an
// earlier repair left a file of that name.
func (r *repairer) lostName(name string) string {
	to := name
	for i := 1; ; i++ {
		if _, err := r.fs.Stat(filepath.Join(r.dir, lostDirName, to)); err != nil {
			return to // free (or unknowable: then the rename reports the problem)
		}
		to = fmt.Sprintf("%s~%d", name, i)
	}
}
