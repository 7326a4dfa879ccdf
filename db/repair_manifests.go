package db

// Repair, step 2: what the old MANIFESTs still say.

import (
	"fmt"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
)

// oldManifest is what one old MANIFEST says, read with compaction's tolerant replay.
type oldManifest struct {
	num       uint64
	edits     int                                 // intact edits
	undecoded int                                 // records that are not edits
	refused   int                                 // changes recovery would refuse, and faults of the end state
	damaged   int                                 // damaged stretches skipped
	firstNext uint64                              // the next file number its first record gives
	live      map[uint64]*compaction.FileMetadata // the tables its edits add up to
}

// clean reports whether the MANIFEST reads without damage and as recovery would accept it
// (though edits at its end may be missing).
func (m *oldManifest) clean() bool { return m.undecoded+m.refused+m.damaged == 0 }

// readManifests reads the intact edits of every MANIFEST found; see step 2.
func (r *repairer) readManifests() error {
	_, current, err := compaction.ReadCurrent(r.fs, r.dir)
	if err != nil {
		current = 0 // missing or damaged: no MANIFEST is current
	}
	var named *oldManifest // the MANIFEST CURRENT names, else the newest one with an edit
	for _, num := range r.manifests {
		m, err := r.readManifest(num)
		if err != nil {
			return err
		}
		r.d.info.Printf("repair: MANIFEST-%06d: %d intact edits, %d undecodable edits, %d refused changes, %d damaged stretches; it names %d tables",
			num, m.edits, m.undecoded, m.refused, m.damaged, len(m.live))
		if m.edits > 0 && (named == nil || named.num != current) {
			named = m
		}
	}
	if named != nil {
		r.named, r.namedBy = named.live, named.num
		if named.num == current && named.clean() {
			r.tree, r.treeFirst = named.live, named.firstNext
		}
	}
	r.logNum = max(r.logNum, r.flushed)
	return nil
}

// readManifest replays MANIFEST-num tolerantly, taking from every intact edit what step 2 says
// it is good for. Only an I/O error or another comparator fails it.
func (r *repairer) readManifest(num uint64) (*oldManifest, error) {
	path := filenames.Path(r.dir, filenames.Manifest, num)
	f, err := r.fs.Open(path)
	if err != nil {
		return nil, dberr.Wrap(err, "repair")
	}
	defer f.Close()
	m := &oldManifest{num: num}
	rp, v, err := compaction.ReplayManifest(f, path, compaction.ReplayOptions{
		Comparator: r.d.icmp,
		Damage:     func(int64, int, error) { m.damaged++ },
		Problem: func(p *compaction.ReplayProblem) error {
			switch p.Kind {
			case compaction.ProblemComparator:
				return dberr.InvalidArgf("repair %s: %s was written with comparator %q, but Repair was given comparator %q",
					r.dir, path, p.Comparator, p.Want)
			case compaction.ProblemUndecodable:
				m.undecoded++
			default:
				m.refused++
			}
			return nil
		},
		Edit: func(_ int64, _ int, e *compaction.VersionEdit) error {
			if e.HasNextFileNum && m.firstNext == 0 {
				m.firstNext = e.NextFileNum
			}
			r.noteEdit(num, e)
			return nil
		},
	})
	if err != nil {
		return nil, dberr.Wrap(err, "repair")
	}
	m.edits = rp.Edits
	m.live = make(map[uint64]*compaction.FileMetadata)
	for _, files := range v.Levels {
		for _, f := range files {
			m.live[f.Num] = f
		}
	}
	return m, nil
}

// noteEdit takes from an intact edit of MANIFEST-num the numbers never to hand out again, the
// logs it says were flushed or are still needed, and the tables it removed from the tree.
func (r *repairer) noteEdit(num uint64, e *compaction.VersionEdit) {
	if e.HasLogNum {
		r.flushed = max(r.flushed, e.LogNum)
	}
	if e.HasPrevLogNum && e.PrevLogNum != 0 {
		r.prevLogs[e.PrevLogNum] = true
	}
	if e.HasNextFileNum {
		r.next = max(r.next, e.NextFileNum)
	}
	if e.HasLastSeq {
		r.lastSeq = max(r.lastSeq, e.LastSeq)
	}
	for df := range e.DeletedFiles {
		r.compacted[df.Num] = num
	}
	for _, nf := range e.NewFiles {
		delete(r.compacted, nf.Meta.Num) // a trivial move deletes and adds in one edit
	}
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
