package db

// Repair rebuilds a DB whose CURRENT or MANIFEST is lost or damaged from the tables and logs its
// directory still holds, as leveldb's RepairDB does, and reports in the LOG what it saved, what
// it could not, and why (every loss on a line containing "LOST"). The steps:
//
//  1. Find the files: logs, tables (.ldb and .sst) and MANIFESTs; other names are ignored.
//  2. Read whatever records of the old MANIFESTs are intact. They cannot be trusted to describe
//     the tree (that is why Repair runs), but every intact edit is a true statement the DB made:
//     its comparator (a different one fails Repair with ErrInvalidArgument before anything is
//     changed), its log number (logs below it were flushed), its next file number and last
//     sequence (never to be handed out again), the tables it adds (those missing are reported
//     as lost) and the tables it removes.
//  3. Set aside, in lost/, the tables that are no longer part of the tree although still on
//     disk (the DB stopped before deleting them): those an intact edit removed, and, when
//     CURRENT names a MANIFEST that reads without damage, those numbered below its last next
//     file number that it does not name. They hold old versions, or keys deleted since whose
//     deletions compaction has dropped: naming them again would bring those keys back.
//  4. Scan every other table for its smallest and largest key and largest sequence number. A
//     table that cannot be opened is lost. A table that is damaged part way has the entries of
//     its readable blocks copied to a new table (leveldb stops at the first damaged block).
//  5. Convert every log the DB had not flushed, oldest first, to level-0 tables, a memtable's
//     worth each: damaged records and batches are skipped and reported, a torn tail ends the
//     log. Logs that an intact edit says were flushed are not converted, for the same reason
//     as in step 3 (leveldb converts every log; Strata's Open replays only the unflushed ones,
//     and so does Repair). Logs come after tables so that their tables, which hold the newest
//     writes, get the highest numbers.
//  6. Order the tables. Every table goes to level 0, where a lookup searches the tables from the
//     highest number down and stops at the first holding the key; but a table's number says
//     when it was written, not how new its data is (a compaction writes old data to a new
//     number while a newer level-0 table keeps a smaller one). So Repair merges the entries of
//     tables whose key ranges overlap, finds for each key the table holding its newest version,
//     and renames tables where needed so that this table has the highest number among those
//     holding the key. Should no numbering satisfy every key (tables holding interleaved
//     versions, which a sound tree never has but a converted stale log can produce), those
//     tables are merged into new tables that hold every version. leveldb skips this step, and
//     a Get right after its repair can return an overwritten value until compaction has run.
//  7. Sync the directory (the new tables' entries), write a new MANIFEST naming every table at
//     level 0, with the comparator, a next file number past every number seen, the largest
//     sequence number seen and a log number past every log found (leveldb writes 0, having
//     moved the logs away first; see crash safety), sync it and the directory, and point
//     CURRENT at it: temporary file, sync, rename, directory sync.
//  8. Only then move what was replaced or could not be read (logs, damaged and stale tables,
//     old MANIFESTs) to dir/lost/, as leveldb does, and delete the tables step 6 merged.
//
// Crash safety: until CURRENT is renamed in step 7, Repair only adds files (tables, renamed
// tables, a MANIFEST that nothing names), so a crash leaves the DB as it was plus some tables,
// and running Repair again gives the same result (a table written twice holds the same entries,
// which reads and compaction treat as one). After the rename the new MANIFEST is in force; the
// logs it replaced are below its log number, so Open never replays them even if the crash left
// them in place, and Open deletes what step 8 did not get to move.

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/wal"
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
	fs := o.fs
	if _, err := fs.Stat(dir); err != nil {
		return nil, dberr.Wrap(err, "repair %s", dir)
	}
	lock, err := fs.Lock(filepath.Join(dir, filenames.LockName))
	if err != nil {
		return nil, dberr.Wrap(err, "repair %s", dir)
	}
	defer lock.Close()

	d := &DB{dir: dir, opts: o, fs: fs, icmp: keys.NewInternalComparator(o.Comparator)}
	if o.BloomBitsPerKey > 0 {
		d.filter = sstable.NewBloomPolicy(o.BloomBitsPerKey)
	}
	d.tables = newTableCache(fs, dir, minOpenFiles, sstable.ReaderOptions{
		Comparator: d.icmp, Filter: d.filter, FilterKey: keys.UserKey,
	}, func(num uint64, err error) { d.info.Printf("closing table #%d: %v", num, err) })
	defer d.info.close()
	defer d.tables.close()

	r := &repairer{d: d, fs: fs, dir: dir, prevLogs: make(map[uint64]bool), compacted: make(map[uint64]uint64)}
	if err := r.run(); err != nil {
		d.info.Printf("repair %s failed: %v", dir, err)
		return nil, err
	}
	return r.report(), nil
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
	// tree is named when it is exact: CURRENT names namedBy and it was read without damage
	// (though edits at its end may be missing). Every table numbered below treeFirst (the next
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

func (r *repairer) run() error {
	if err := r.findFiles(); err != nil {
		return err
	}
	// Nothing has changed so far; a comparator mismatch found here leaves the directory alone.
	if err := r.readManifests(); err != nil {
		return err
	}
	r.d.info.attach(r.fs, r.dir)
	r.logf("repairing %s: %d logs, %d tables, %d MANIFESTs; next file number %d", r.dir,
		len(r.logs), len(r.tables), len(r.manifests), r.next)
	r.reportMissing()
	r.setAsideStale()
	if err := r.scanTables(); err != nil {
		return err
	}
	if err := r.convertLogs(); err != nil {
		return err
	}
	if err := r.orderTables(); err != nil {
		return err
	}
	if err := r.writeManifest(); err != nil {
		return err
	}
	r.cleanUp()
	var bytes uint64
	for _, t := range r.tables {
		bytes += t.meta.Size
	}
	lost := "nothing lost"
	if len(r.losses) > 0 {
		lost = "LOST: " + strings.Join(r.losses, "; ")
	}
	r.logf("**** repaired %s: %d tables, %d bytes, last sequence %d; %s ****", r.dir, len(r.tables), bytes, r.lastSeq, lost)
	return nil
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

// readManifests reads the intact edits of every MANIFEST found; see step 2.
func (r *repairer) readManifests() error {
	current := r.readCurrent()
	var (
		named   map[uint64]*compaction.FileMetadata
		namedBy uint64
		clean   bool   // namedBy was read without damage
		first   uint64 // the next file number namedBy records first
	)
	for _, num := range r.manifests {
		path := filenames.Path(r.dir, filenames.Manifest, num)
		f, err := r.fs.Open(path)
		if err != nil {
			return dberr.Wrap(err, "repair")
		}
		rd := wal.NewReader(f, path)
		damaged := 0
		rd.SkipCorruption(func(int64, int, error) { damaged++ })
		var (
			e                 compaction.VersionEdit
			records, badEdits int
			firstNext         uint64
			live              = make(map[uint64]*compaction.FileMetadata)
		)
		for {
			rec, err := rd.Next()
			if err == io.EOF || errors.Is(err, wal.ErrTornTail) {
				break // a torn edit was never acknowledged: the edits before it are the state
			}
			if err != nil {
				f.Close()
				return dberr.Wrap(err, "repair")
			}
			if e.Decode(rec, path, rd.Offset()) != nil {
				badEdits++
				continue
			}
			records++
			if e.HasComparator && e.Comparator != r.d.opts.Comparator.Name() {
				f.Close()
				return dberr.InvalidArgf("repair %s: %s was written with comparator %q, but Repair was given comparator %q",
					r.dir, path, e.Comparator, r.d.opts.Comparator.Name())
			}
			if e.HasLogNum {
				r.flushed = max(r.flushed, e.LogNum)
			}
			if e.HasPrevLogNum && e.PrevLogNum != 0 {
				r.prevLogs[e.PrevLogNum] = true
			}
			if e.HasNextFileNum {
				r.next = max(r.next, e.NextFileNum)
				if firstNext == 0 {
					firstNext = e.NextFileNum
				}
			}
			if e.HasLastSeq {
				r.lastSeq = max(r.lastSeq, e.LastSeq)
			}
			for df := range e.DeletedFiles {
				delete(live, df.Num)
				r.compacted[df.Num] = num
			}
			for _, nf := range e.NewFiles {
				live[nf.Meta.Num] = nf.Meta
				delete(r.compacted, nf.Meta.Num) // a trivial move deletes and adds in one edit
			}
		}
		f.Close()
		r.d.info.Printf("repair: MANIFEST-%06d: %d intact edits, %d undecodable edits, %d damaged stretches; it names %d tables",
			num, records, badEdits, damaged, len(live))
		// The tables named are those of the MANIFEST CURRENT names, else of the newest one.
		if records > 0 && namedBy != current {
			named, namedBy, clean, first = live, num, damaged+badEdits == 0, firstNext
		}
	}
	r.named, r.namedBy = named, namedBy
	if namedBy != 0 && namedBy == current && clean {
		r.tree, r.treeFirst = named, first
	}
	r.logNum = max(r.logNum, r.flushed)
	return nil
}

// readCurrent returns the number of the MANIFEST that CURRENT names, or 0 when CURRENT is
// missing or does not name one.
func (r *repairer) readCurrent() uint64 {
	f, err := r.fs.Open(r.path(filenames.CurrentName))
	if err != nil {
		return 0
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	name, ok := strings.CutSuffix(string(b), "\n")
	kind, num, parsed := filenames.Parse(name)
	if err != nil || !ok || !parsed || kind != filenames.Manifest {
		return 0
	}
	return num
}

// reportMissing reports the tables the newest readable MANIFEST names that are not in the
// directory: their keys are lost, unless a log still holds them.
func (r *repairer) reportMissing() {
	present := make(map[uint64]bool, len(r.tables))
	for _, t := range r.tables {
		present[t.num] = true
	}
	for num, m := range r.named {
		if !present[num] {
			r.lose(fmt.Sprintf("table #%d missing", num), "table #%d: MANIFEST-%06d names it (%d bytes, keys %s .. %s) but it is missing",
				num, r.namedBy, m.Size, keys.FormatInternalKey(m.Smallest), keys.FormatInternalKey(m.Largest))
		}
	}
}

// setAsideStale removes from the tables to scan those that are no longer part of the tree:
// an intact MANIFEST edit removed them (a compaction merged them into other tables), or the
// exact tree does not name them although they are older than its MANIFEST (replaced, or the
// output of work a crash cut short, before the DB last opened). The DB would have deleted them
// had it not stopped first. They hold old versions, or keys deleted since whose deletions
// compaction has dropped: naming them again could bring those keys back.
//
// Unnamed tables made while the MANIFEST was current are kept: the output of a flush or a
// compaction whose edit the damage cut off the MANIFEST's end (the log or inputs it replaced are
// gone, so it holds the only copy), or of one a crash cut short (a merge of tables still in the
// tree, so keeping it adds no entry they lack; the crash ended that DB's run, so no later
// compaction can have dropped a deletion it still shadows). So are tables numbered past every
// edit (the work of an interrupted Repair, say).
func (r *repairer) setAsideStale() {
	r.tables = slices.DeleteFunc(r.tables, func(t *repairTable) bool {
		m, removed := r.compacted[t.num]
		_, named := r.tree[t.num]
		switch {
		case removed:
			r.logf("table #%d: not used: MANIFEST-%06d records it as compacted into other tables; it goes to lost/", t.num, m)
		case r.tree != nil && !named && t.num < r.treeFirst:
			r.logf("table #%d: not used: MANIFEST-%06d, intact and current, does not name it, and it is older than that MANIFEST; it goes to lost/", t.num, r.namedBy)
		default:
			return false
		}
		r.archive = append(r.archive, t.name)
		return true
	})
}

// convertLogs converts the unflushed logs to tables, oldest first; see step 5.
func (r *repairer) convertLogs() error {
	for _, num := range r.logs {
		r.archive = append(r.archive, filenames.Name(filenames.Log, num))
		if num < r.flushed && !r.prevLogs[num] {
			r.logf("log #%d: not converted: MANIFEST edits say it was flushed (log number %d)", num, r.flushed)
			continue
		}
		if err := r.convertLog(num); err != nil {
			return err
		}
	}
	return nil
}

// convertLog writes the intact batches of log num to level-0 tables, a memtable's worth each.
func (r *repairer) convertLog(num uint64) error {
	d := r.d
	name := filenames.Path(r.dir, filenames.Log, num)
	f, err := r.fs.Open(name)
	if err != nil {
		return dberr.Wrap(err, "repair: open log")
	}
	defer f.Close()
	rd := wal.NewReader(f, name)
	rd.SkipCorruption(func(offset int64, dropped int, err error) {
		r.logBytesDropped += int64(dropped)
		r.lose(fmt.Sprintf("%d bytes of log #%d", dropped, num), "log #%d: dropped %d bytes at offset %d: %v", num, dropped, offset, err)
	})
	var (
		mem              *memtable.MemTable
		memSeq           keys.SeqNum
		batches, entries int
		outputs          []uint64
	)
	flush := func() error {
		if mem == nil || mem.Empty() {
			return nil
		}
		tnum := r.newFileNumber()
		n := mem.Len()
		meta, err := d.buildTable(tnum, mem.NewIterator(), nil)
		d.tables.evict(tnum)
		mem = nil
		if err != nil || meta == nil {
			return err
		}
		r.tables = append(r.tables, &repairTable{num: tnum, name: filenames.Name(filenames.Table, tnum), meta: meta, maxSeq: memSeq, entries: n})
		outputs = append(outputs, tnum)
		return nil
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, wal.ErrTornTail) {
			r.logf("log #%d: %v (a write cut short by a crash, never acknowledged); the log ends there", num, err)
			break
		}
		if err != nil {
			return dberr.Wrap(err, "repair")
		}
		repr := batch.Repr(rec)
		err = batch.Validate(rec, name, rd.Offset())
		if err == nil && repr.Count() > 0 && uint64(repr.Seq())+uint64(repr.Count())-1 > uint64(keys.MaxSeqNum) {
			err = dberr.Corruptf(name, rd.Offset(), "batch: sequence numbers from %d for %d entries pass the maximum", repr.Seq(), repr.Count())
		}
		if err != nil {
			r.lose(fmt.Sprintf("a batch of log #%d", num), "log #%d: skipping a damaged batch: %v", num, err)
			continue
		}
		if bound := arenaBound(repr); mem == nil || mem.Available() < bound {
			if err := flush(); err != nil {
				return err
			}
			mem, memSeq = memtable.New(d.opts.Comparator, d.memCapacity(bound)), 0
		}
		if err := batch.Apply(rec, name, rd.Offset(), func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
			return mem.Add(seq, kind, key, value)
		}); err != nil {
			return dberr.Wrap(err, "repair: log #%d", num)
		}
		batches++
		entries += int(repr.Count())
		if repr.Count() > 0 {
			last := repr.Seq() + keys.SeqNum(repr.Count()) - 1
			memSeq, r.lastSeq = max(memSeq, last), max(r.lastSeq, last)
		}
		if mem.Size() > d.opts.WriteBufferSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	r.logsConverted++
	r.logf("log #%d: %d batches, %d entries saved to tables %v", num, batches, entries, outputs)
	return nil
}

// openTable opens t's file.
func (r *repairer) openTable(t *repairTable) (*table, error) {
	path := r.path(t.name)
	f, err := r.fs.Open(path)
	if err != nil {
		return nil, dberr.Wrap(err, "repair: open table")
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, dberr.Wrap(err, "repair: stat table %s", path)
	}
	ro := r.d.tables.opts
	ro.FileNum = t.num
	rd, err := sstable.Open(f, path, st.Size(), ro)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &table{Reader: rd, f: f}, nil
}

// scanTables fills in the metadata of the tables found in the directory, salvaging damaged
// ones; see step 4.
func (r *repairer) scanTables() error {
	var kept []*repairTable
	for _, t := range r.tables {
		nt, err := r.scanTable(t)
		if err != nil {
			return err
		}
		if nt != nil {
			kept = append(kept, nt)
		}
	}
	r.tables = kept
	for _, t := range r.tables {
		r.lastSeq = max(r.lastSeq, t.maxSeq)
	}
	return nil
}

// scanTable reads every entry of t. It returns t with its metadata, a salvaged copy, or nil when
// nothing of t could be read. Only I/O errors are returned; damage is reported and survived.
func (r *repairer) scanTable(t *repairTable) (*repairTable, error) {
	tb, err := r.openTable(t)
	if err != nil {
		if !errors.Is(err, ErrCorruption) {
			return nil, err
		}
		r.lose(fmt.Sprintf("table #%d unreadable", t.num), "table #%d: cannot be opened, all its entries are lost: %v", t.num, err)
		r.archive = append(r.archive, t.name)
		return nil, nil
	}
	defer tb.Close()
	it := tb.NewIterator(sstable.ReadOptions{DontFillCache: true})
	var smallest, largest []byte
	for ok := it.First(); ok; ok = it.Next() {
		pk, ok := keys.Parse(it.Key())
		if !ok {
			err = dberr.Corruptf(tb.Name(), dberr.NoOffset, "entry %d has an unparsable internal key %q", t.entries, it.Key())
			break
		}
		if smallest == nil {
			smallest = slices.Clone(it.Key())
		}
		largest = append(largest[:0], it.Key()...)
		t.maxSeq = max(t.maxSeq, pk.Seq)
		t.entries++
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && !errors.Is(err, ErrCorruption):
		return nil, err
	case err != nil:
		return r.salvageTable(t, tb, err)
	case t.entries == 0:
		r.logf("table #%d: holds no entries; set aside", t.num)
		r.archive = append(r.archive, t.name)
		return nil, nil
	}
	t.meta = &compaction.FileMetadata{Num: t.num, Size: tb.Size(), Smallest: smallest, Largest: slices.Clone(largest)}
	r.logf("table #%d: %d entries, keys %s .. %s, largest sequence %d", t.num, t.entries,
		keys.FormatInternalKey(smallest), keys.FormatInternalKey(largest), t.maxSeq)
	return t, nil
}

// salvageTable copies the entries of the intact blocks of a damaged table to a new table, keeping
// only well-formed keys in strictly increasing order, and sets the original aside.
func (r *repairer) salvageTable(t *repairTable, tb *table, cause error) (*repairTable, error) {
	r.logf("table #%d: damaged after %d entries: %v; copying its readable blocks", t.num, t.entries, cause)
	blocks := tb.Layout().Index
	num := r.newFileNumber()
	out, err := r.d.newTableOutput(num)
	if err != nil {
		return nil, err
	}
	var (
		last          []byte
		maxSeq        keys.SeqNum
		kept, dropped int
		lostBlocks    int
		addErr        error
		icmp          = r.d.icmp
	)
	for _, b := range blocks {
		contents, _, err := tb.ReadBlock(b.Handle)
		if err == nil {
			err = sstable.WalkBlock(contents, func(e sstable.RawEntry) bool {
				pk, ok := keys.Parse(e.Key)
				if !ok || (last != nil && icmp.Compare(e.Key, last) <= 0) {
					dropped++
					return true
				}
				if addErr = out.add(e.Key, e.Value); addErr != nil {
					return false
				}
				last = append(last[:0], e.Key...)
				maxSeq = max(maxSeq, pk.Seq)
				kept++
				return true
			})
		}
		if addErr != nil || (err != nil && !errors.Is(err, ErrCorruption)) {
			out.abandon()
			return nil, dberr.Wrap(errors.Join(addErr, err), "repair: salvage table #%d", t.num)
		}
		if err != nil {
			lostBlocks++
			r.lose(fmt.Sprintf("a block of table #%d", t.num), "table #%d: the block at offset %d (%d bytes) is unreadable, its entries are lost: %v",
				t.num, b.Handle.Offset, b.Handle.Size, err)
		}
	}
	if dropped > 0 {
		r.lose(fmt.Sprintf("%d entries of table #%d", dropped, t.num), "table #%d: %d entries with malformed or out-of-order keys dropped", t.num, dropped)
	}
	meta, err := out.finish()
	r.d.tables.evict(num)
	if err != nil {
		return nil, err
	}
	r.archive = append(r.archive, t.name)
	if meta == nil {
		r.lose(fmt.Sprintf("table #%d", t.num), "table #%d: no entry could be salvaged", t.num)
		return nil, nil
	}
	r.logf("table #%d: %d entries salvaged from %d of %d blocks into table #%d; the original goes to lost/",
		t.num, kept, len(blocks)-lostBlocks, len(blocks), num)
	return &repairTable{num: num, name: filenames.Name(filenames.Table, num), meta: meta, maxSeq: maxSeq, entries: kept}, nil
}

// orderTables makes the tables' numbers agree with the age of their data; see step 6. Tables
// whose user-key ranges do not overlap, directly or through others, share no key and are
// ordered independently.
func (r *repairer) orderTables() error {
	ucmp := r.d.opts.Comparator.Compare
	ts := slices.Clone(r.tables)
	slices.SortFunc(ts, func(a, b *repairTable) int {
		if c := ucmp(a.meta.SmallestUser(), b.meta.SmallestUser()); c != 0 {
			return c
		}
		return cmp.Compare(a.num, b.num)
	})
	var (
		comp    []*repairTable
		largest []byte
	)
	for i, t := range ts {
		if len(comp) > 0 && ucmp(t.meta.SmallestUser(), largest) > 0 {
			if err := r.orderComponent(comp); err != nil {
				return err
			}
			comp = nil
		}
		if len(comp) == 0 || ucmp(t.meta.LargestUser(), largest) > 0 {
			largest = t.meta.LargestUser()
		}
		comp = append(comp, t)
		if i == len(ts)-1 {
			if err := r.orderComponent(comp); err != nil {
				return err
			}
		}
	}
	return nil
}

// orderComponent renumbers tables of comp, tables with overlapping key ranges, so that for every
// user key the table holding its newest version has the highest number among those holding it.
func (r *repairer) orderComponent(comp []*repairTable) error {
	if len(comp) < 2 {
		return nil
	}
	// older[a] lists the tables that hold an older version of a key whose newest version a holds.
	older := make([][]int, len(comp))
	edges := make(map[[2]int]bool)
	var (
		user   []byte
		seq    keys.SeqNum
		newest []int // the tables holding the newest version of user (usually one)
		have   bool
	)
	err := r.mergeTables(comp, func(i int, key, _ []byte) error {
		pk, _ := keys.Parse(key) // scanTable checked every key
		switch {
		case !have || r.d.icmp.CompareUser(pk.UserKey, user) != 0:
			user, seq, newest, have = append(user[:0], pk.UserKey...), pk.Seq, append(newest[:0], i), true
		case pk.Seq == seq: // the same write in two tables: a log converted twice, say
			if !slices.Contains(newest, i) {
				newest = append(newest, i)
			}
		default:
			for _, a := range newest {
				if a != i && !edges[[2]int{a, i}] {
					edges[[2]int{a, i}] = true
					older[a] = append(older[a], i)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(edges) == 0 {
		return nil
	}
	// Number the tables oldest first (Kahn's algorithm, smallest number first among the tables
	// ready), keeping a table's number when it is above those of all tables it must follow.
	pending := make([]int, len(comp))
	newer := make([][]int, len(comp))
	for a, bs := range older {
		pending[a] = len(bs)
		for _, b := range bs {
			newer[b] = append(newer[b], a)
		}
	}
	ready := &heapOf[int]{less: func(a, b int) bool { return comp[a].num < comp[b].num }}
	for i := range comp {
		if pending[i] == 0 {
			ready.items = append(ready.items, i)
		}
	}
	heap.Init(ready)
	order := make([]int, 0, len(comp))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, a := range newer[i] {
			if pending[a]--; pending[a] == 0 {
				heap.Push(ready, a)
			}
		}
	}
	if len(order) < len(comp) {
		return r.mergeComponent(comp)
	}
	for _, i := range order {
		t, above := comp[i], -1
		for _, b := range older[i] {
			if above < 0 || comp[b].num > comp[above].num {
				above = b
			}
		}
		if above < 0 || t.num > comp[above].num {
			continue
		}
		num := r.newFileNumber()
		name := filenames.Name(filenames.Table, num)
		if err := r.fs.Rename(r.path(t.name), r.path(name)); err != nil {
			return dberr.Wrap(err, "repair")
		}
		r.logf("table #%d renumbered #%d: it holds newer versions of keys than table #%d", t.num, num, comp[above].num)
		t.num, t.name, t.meta.Num = num, name, num
	}
	return nil
}

// mergeComponent replaces the tables of comp, whose versions interleave so that no numbering
// orders them, by new tables holding all their entries, cut between user keys.
func (r *repairer) mergeComponent(comp []*repairTable) error {
	var (
		outs    []*repairTable
		out     *tableOutput
		cur     *repairTable
		last    []byte
		nums    []uint64
		replace = make(map[*repairTable]bool, len(comp))
	)
	finish := func() error {
		meta, err := out.finish()
		r.d.tables.evict(out.num)
		out = nil
		if err == nil && meta != nil {
			cur.meta = meta
			outs = append(outs, cur)
		}
		return err
	}
	target := uint64(r.d.opts.MaxFileSize)
	err := r.mergeTables(comp, func(_ int, key, value []byte) error {
		if last != nil && r.d.icmp.Compare(key, last) == 0 {
			return nil // the same write in two tables
		}
		newUser := last == nil || r.d.icmp.CompareUser(keys.UserKey(key), keys.UserKey(last)) != 0
		if out != nil && newUser && out.w.EstimatedSize() >= target {
			if err := finish(); err != nil {
				return err
			}
		}
		if out == nil {
			num := r.newFileNumber()
			o, err := r.d.newTableOutput(num)
			if err != nil {
				return err
			}
			out, cur = o, &repairTable{num: num, name: filenames.Name(filenames.Table, num)}
			nums = append(nums, num)
		}
		pk, _ := keys.Parse(key)
		cur.maxSeq = max(cur.maxSeq, pk.Seq)
		cur.entries++
		last = append(last[:0], key...)
		return out.add(key, value)
	})
	if err == nil && out != nil {
		err = finish()
	}
	if err != nil {
		if out != nil {
			out.abandon()
		}
		return dberr.Wrap(err, "repair: merging tables")
	}
	var olds []uint64
	for _, t := range comp {
		replace[t] = true
		olds = append(olds, t.num)
		r.remove = append(r.remove, t.name)
	}
	r.tables = slices.DeleteFunc(r.tables, func(t *repairTable) bool { return replace[t] })
	r.tables = append(r.tables, outs...)
	r.logf("tables %v hold interleaved versions of the same keys; merged into tables %v", olds, nums)
	return nil
}

// mergeSource is one table's iterator in mergeTables.
type mergeSource struct {
	it *sstable.Iterator
	i  int
}

// mergeTables calls fn for every entry of ts in internal-key order (ties by position in ts), with
// the position of the table it comes from.
func (r *repairer) mergeTables(ts []*repairTable, fn func(i int, key, value []byte) error) error {
	compare := r.d.icmp.Compare
	h := &heapOf[mergeSource]{less: func(a, b mergeSource) bool {
		if c := compare(a.it.Key(), b.it.Key()); c != 0 {
			return c < 0
		}
		return a.i < b.i
	}}
	for i, t := range ts {
		tb, err := r.openTable(t)
		if err != nil {
			return err
		}
		defer tb.Close()
		it := tb.NewIterator(sstable.ReadOptions{DontFillCache: true})
		if it.First() {
			h.items = append(h.items, mergeSource{it, i})
		} else if err := it.Close(); err != nil {
			return err
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		s := h.items[0]
		if err := fn(s.i, s.it.Key(), s.it.Value()); err != nil {
			return err
		}
		if s.it.Next() {
			heap.Fix(h, 0)
			continue
		}
		if err := s.it.Close(); err != nil {
			return err
		}
		heap.Pop(h)
	}
	return nil
}

// heapOf is a container/heap of T ordered by less.
type heapOf[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *heapOf[T]) Len() int           { return len(h.items) }
func (h *heapOf[T]) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *heapOf[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *heapOf[T]) Push(x any)         { h.items = append(h.items, x.(T)) }
func (h *heapOf[T]) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

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
	path := filenames.Path(r.dir, filenames.Manifest, num)
	f, err := r.fs.Create(path)
	if err != nil {
		return dberr.Wrap(err, "repair")
	}
	w := wal.NewWriter(f)
	err = w.AddRecord(e.Encode(nil))
	if err == nil {
		err = w.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.fs.SyncDir(r.dir) // the MANIFEST's own entry, before CURRENT names it
	}
	if err != nil {
		_ = r.fs.Remove(path)
		return dberr.Wrap(err, "repair: writing %s", path)
	}
	if err := r.setCurrent(num); err != nil {
		return err
	}
	r.logf("wrote MANIFEST-%06d: %d tables at level 0, log number %d, next file %d, last sequence %d",
		num, len(r.tables), r.logNum, r.next, r.lastSeq)
	for _, m := range r.manifests {
		r.archive = append(r.archive, filenames.Name(filenames.Manifest, m))
	}
	return nil
}

// setCurrent points CURRENT at MANIFEST-num atomically: temporary file, sync, rename, sync the
// directory.
func (r *repairer) setCurrent(num uint64) error {
	tmp := filenames.Path(r.dir, filenames.Temp, num)
	f, err := r.fs.Create(tmp)
	if err != nil {
		return dberr.Wrap(err, "repair")
	}
	_, err = f.Write([]byte(filenames.Name(filenames.Manifest, num) + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.fs.Rename(tmp, r.path(filenames.CurrentName))
	}
	if err != nil {
		_ = r.fs.Remove(tmp)
		return dberr.Wrap(err, "repair: writing CURRENT")
	}
	if err := r.fs.SyncDir(r.dir); err != nil {
		return dberr.Wrap(err, "repair: syncing %s after renaming CURRENT", r.dir)
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
