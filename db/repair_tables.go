package db

// Repair, steps 3 and 4: the tables found, those no longer part of the tree set aside, the
// others scanned for their key ranges and sequence numbers, and the readable entries of damaged
// ones copied to new tables.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

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
	tb, err := r.d.tables.open(t.num)
	if err != nil {
		if !errors.Is(err, ErrCorruption) {
			return nil, dberr.Wrap(err, "repair")
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
