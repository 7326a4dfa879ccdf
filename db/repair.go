package db

// Repair rebuilds a DB whose CURRENT or MANIFEST is lost or damaged from the tables and logs its
// directory still holds, as leveldb's RepairDB does, and reports in the LOG what it saved, what
// it could not, and why (every loss on a line containing "LOST"). The steps:
//
//  1. Find the files: logs, tables (.ldb and .sst) and MANIFESTs; other names are ignored
//     (findFiles, below).
//  2. Read whatever records of the old MANIFESTs are intact. They cannot be trusted to describe
//     the tree (that is why Repair runs), but every intact edit is a true statement the DB made:
//     its comparator (a different one fails Repair with ErrInvalidArgument before anything is
//     changed), its log number (logs below it were flushed), its next file number and last
//     sequence (never to be handed out again), the tables it adds (those missing are reported
//     as lost) and the tables it removes (repair_manifests.go, with compaction's tolerant
//     replay).
//  3. Set aside, in lost/, the tables that are no longer part of the tree although still on
//     disk (the DB stopped before deleting them): those an intact edit removed, and, when
//     CURRENT names a MANIFEST that reads without damage and whose every edit applies, those
//     it does not name that are numbered below the next file number of its first record (the
//     tables that existed when the DB started that MANIFEST). They hold old versions, or keys
//     deleted since whose deletions compaction has dropped: naming them again would bring
//     those keys back (repair_tables.go).
//  4. Scan every other table for its smallest and largest key and largest sequence number. A
//     table that cannot be opened is lost. A table that is damaged part way has the entries of
//     its readable blocks copied to a new table (leveldb stops at the first damaged block;
//     repair_tables.go).
//  5. Convert every log the DB had not flushed, oldest first, to level-0 tables, a memtable's
//     worth each: damaged records and batches are skipped and reported, a torn tail ends the
//     log. Logs that an intact edit says were flushed are not converted, for the same reason
//     as in step 3 (leveldb converts every log; Strata's Open replays only the unflushed ones,
//     and so does Repair). Logs come after tables so that their tables, which hold the newest
//     writes, get the highest numbers (repair_logs.go).
//  6. Order the tables. Every table goes to level 0, where a lookup searches the tables from the
//     highest number down and stops at the first holding the key; but a table's number says
//     when it was written, not how new its data is (a compaction writes old data to a new
//     number while a newer level-0 table keeps a smaller one). So Repair merges the entries of
//     tables whose key ranges overlap, finds for each key the table holding its newest version,
//     and renames tables where needed so that this table has the highest number among those
//     holding the key. Should no numbering satisfy every key (tables holding interleaved
//     versions, which a sound tree never has but a converted stale log can produce), those
//     tables are merged into new tables that hold every version. leveldb skips this step, and
//     a Get right after its repair can return an overwritten value until compaction has run
//     (repair_order.go).
//  7. Sync the directory (the new tables' entries), write a new MANIFEST naming every table at
//     level 0, with the comparator, a next file number past every number seen, the largest
//     sequence number seen and a log number past every log found (leveldb writes 0, having
//     moved the logs away first; see crash safety), sync it and the directory, and point
//     CURRENT at it: temporary file, sync, rename, directory sync (compaction.WriteManifest,
//     as a new DB's first MANIFEST is written; repair_install.go).
//  8. Only then move what was replaced or could not be read (logs, damaged and stale tables,
//     old MANIFESTs) to dir/lost/, as leveldb does, and delete the tables step 6 merged
//     (repair_install.go).
//
// Crash safety: until CURRENT is renamed in step 7, Repair only adds files (tables, renamed
// tables, a MANIFEST that nothing names), so a crash leaves the DB as it was plus some tables,
// and running Repair again gives the same result (a table written twice holds the same entries,
// which reads and compaction treat as one). After the rename the new MANIFEST is in force; the
// logs it replaced are below its log number, so Open never replays them even if the crash left
// them in place, and Open deletes what step 8 did not get to move.

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// lostDirName is the subdirectory where Repair moves the files it replaced or could not read.
const lostDirName = "lost"

// Repair rebuilds the DB in dir from the tables and logs it holds, when its CURRENT or MANIFEST
// is lost or damaged, so that Open succeeds again; see the top of repair.go for what it does.
// A nil opts means all defaults; the comparator must be the one the DB was written with. Repair
// takes the directory's LOCK, so it fails with an error matching ErrLocked while the DB is open.
// Errors reading a file (other than damage) or writing the new files stop Repair, leaving the DB
// as it was.
//
// Repair returns nil once the DB is rebuilt, even when some data could not be saved: damage is
// what Repair is for. To learn what was lost, call RepairWithReport instead; the LOG also lists
// every loss on a line containing "LOST", and the files Repair replaced are kept in dir/lost/.
func Repair(dir string, opts *Options) error {
	_, err := RepairWithReport(dir, opts)
	return err
}

// RepairWithReport is Repair, and says what it did: the report lists the files set aside in
// dir/lost/, the bytes of damaged log records skipped, and every loss. It returns a nil error
// whenever the DB was rebuilt; then report.LostData tells whether anything was lost. On error
// the report is nil.
func RepairWithReport(dir string, opts *Options) (*RepairReport, error) {
	if dir == "" {
		return nil, dberr.InvalidArgf("repair: the directory path is empty")
	}
	o := opts.sanitize()
	fs := o.FS
	if _, err := fs.Stat(dir); err != nil {
		return nil, dberr.Wrap(err, "repair %s", dir)
	}
	lock, err := fs.Lock(filepath.Join(dir, filenames.LockName))
	if err != nil {
		return nil, dberr.Wrap(err, "repair %s", dir)
	}
	defer lock.Close()

	d := &DB{dir: dir, opts: o, fs: fs, icmp: keys.NewInternalComparator(o.Comparator)}
	d.info.logger = o.Logger
	if o.BloomBitsPerKey > 0 {
		d.filter = sstable.NewBloomPolicy(o.BloomBitsPerKey)
	}
	d.tables = newTableCache(fs, dir, minOpenFiles, newMemBudget(0, 0, 0), sstable.ReaderOptions{
		Comparator: d.icmp, Filter: d.filter, FilterKey: keys.UserKey,
	}, func(num uint64, err error) { d.info.Printf("closing table #%d: %v", num, err) })
	defer d.info.close()
	defer d.tables.close()

	r := &repairer{d: d, fs: fs, dir: dir, prevLogs: make(map[uint64]bool), compacted: make(map[uint64]uint64)}
	rep, err := r.run()
	if err != nil {
		d.info.Printf("repair %s failed: %v", dir, err)
		return nil, err
	}
	return rep, nil
}

// repairer holds the state of one Repair.
type repairer struct {
	d   *DB // a DB value with the options, comparator, filter, table cache and LOG, to write tables
	fs  vfs.FS
	dir string

	next    uint64      // the next file number to hand out: past every number seen
	lastSeq keys.SeqNum // the largest sequence number seen
	logNum  uint64      // the log number of the new MANIFEST: past every log found

	logs      []uint64                            // logs found, ascending
	tables    []*repairTable                      // the tables the new MANIFEST will name
	manifests []uint64                            // MANIFESTs found, ascending
	flushed   uint64                              // logs below this were flushed, says an intact MANIFEST edit
	prevLogs  map[uint64]bool                     // logs an intact edit names as its previous log (still needed)
	named     map[uint64]*compaction.FileMetadata // the tables of the newest readable MANIFEST
	namedBy   uint64                              // that MANIFEST
	compacted map[uint64]uint64                   // tables an intact edit removed from the tree -> its MANIFEST
	// tree is named when it is exact: CURRENT names namedBy, which was read without damage
	// and whose every edit applied (though edits at its end may be missing). Every table numbered below treeFirst (the next
	// file number of namedBy's first record, written when the DB opened it) that it does not
	// name predates it and was replaced or abandoned before then.
	tree      map[uint64]*compaction.FileMetadata
	treeFirst uint64

	archive []string // names to move to lost/ once the new MANIFEST is current
	remove  []string // names to delete once the new MANIFEST is current
	losses  []string // one short line per loss, for the summary

	setAside        []string // paths, relative to dir, of the files moved to lost/
	logBytesDropped int64    // bytes of damaged log records skipped
	logsConverted   int      // logs whose records were written to tables
}

// repairTable is a table the new MANIFEST will name.
type repairTable struct {
	num     uint64
	name    string // base name in the directory (.ldb, or .sst for an old table)
	meta    *compaction.FileMetadata
	maxSeq  keys.SeqNum
	entries int
}

func (r *repairer) logf(format string, args ...any) {
	r.d.info.Printf("repair: "+format, args...)
}

// lose reports data that Repair could not save.
func (r *repairer) lose(summary, format string, args ...any) {
	r.losses = append(r.losses, summary)
	r.d.info.Printf("repair: LOST "+format, args...)
}

func (r *repairer) newFileNumber() uint64 {
	n := r.next
	r.next++
	return n
}

func (r *repairer) path(name string) string { return filepath.Join(r.dir, name) }

// run takes the steps at the top of this file, in order.
func (r *repairer) run() (*RepairReport, error) {
	if err := r.findFiles(); err != nil {
		return nil, err
	}
	// Nothing has changed so far; a comparator mismatch found here leaves the directory alone.
	if err := r.readManifests(); err != nil {
		return nil, err
	}
	r.d.info.attach(r.fs, r.dir)
	r.logf("repairing %s: %d logs, %d tables, %d MANIFESTs; next file number %d", r.dir,
		len(r.logs), len(r.tables), len(r.manifests), r.next)
	r.reportMissing()
	r.setAsideStale()
	for _, step := range []func() error{r.scanTables, r.convertLogs, r.orderTables, r.writeManifest} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	r.cleanUp()
	rep := r.report()
	lost := "nothing lost"
	if rep.LostData() {
		lost = "LOST: " + strings.Join(rep.Losses, "; ")
	}
	r.logf("**** repaired %s: %d tables, %d bytes, last sequence %d; %s ****", r.dir, rep.Tables, rep.Bytes, rep.LastSequence, lost)
	return rep, nil
}

// findFiles lists the directory (and lost/, for its numbers).
func (r *repairer) findFiles() error {
	names, err := r.fs.List(r.dir)
	if err != nil {
		return dberr.Wrap(err, "repair %s", r.dir)
	}
	var maxNum uint64
	byNum := make(map[uint64]*repairTable)
	for _, n := range names {
		kind, num, ok := filenames.Parse(n)
		if !ok {
			continue
		}
		maxNum = max(maxNum, num)
		switch kind {
		case filenames.Log:
			r.logs = append(r.logs, num)
		case filenames.Manifest:
			r.manifests = append(r.manifests, num)
		case filenames.Table:
			if other, dup := byNum[num]; dup {
				// Both 000007.ldb and 000007.sst: keep the current suffix, set the other aside.
				keep, drop := other.name, n
				if strings.HasSuffix(keep, filenames.LegacyTableSuffix) {
					keep, drop = n, keep
				}
				other.name = keep
				r.archive = append(r.archive, drop)
				continue
			}
			t := &repairTable{num: num, name: n}
			byNum[num] = t
			r.tables = append(r.tables, t)
		}
	}
	if lost, err := r.fs.List(r.path(lostDirName)); err == nil {
		for _, n := range lost {
			if _, num, ok := filenames.Parse(strings.SplitN(n, "~", 2)[0]); ok {
				maxNum = max(maxNum, num)
			}
		}
	}
	if len(r.logs)+len(r.tables)+len(r.manifests) == 0 {
		return dberr.InvalidArgf("repair %s: no logs, tables or MANIFESTs there", r.dir)
	}
	r.next = maxNum + 1
	slices.Sort(r.logs)
	slices.Sort(r.manifests)
	if len(r.logs) > 0 {
		r.logNum = r.logs[len(r.logs)-1] + 1
	}
	return nil
}
