package db

import (
	"errors"
	"sync"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
)

// getScratch is the per-call state of Get, pooled so that a lookup allocates only the value it
// returns.
type getScratch struct {
	lookup     []byte // the internal lookup key
	found      []byte // the key of the entry a table returned
	candidates []compaction.Candidate
}

var getPool = sync.Pool{New: func() any {
	return &getScratch{lookup: make([]byte, 0, 64), found: make([]byte, 0, 64), candidates: make([]compaction.Candidate, 0, 16)}
}}

// Get returns the value of key, or ErrNotFound. The caller owns the returned slice. A nil ro
// reads the latest state with default options.
func (d *DB) Get(key []byte, ro *ReadOptions) ([]byte, error) {
	return d.get(key, ro, true)
}

// Has reports whether the DB holds key (as of ro's snapshot, if any). It looks key up as Get
// does but never copies the value, so it costs no more for a large value than for a small one.
// An absent key gives false and a nil error; errors are Get's.
func (d *DB) Has(key []byte, ro *ReadOptions) (bool, error) {
	_, err := d.get(key, ro, false)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// present stands for a value get found but was not asked to copy: non-nil, so it is not taken
// for a deletion.
var present = []byte{}

// get is Get; without copyValue it returns present instead of a copy of the value.
func (d *DB) get(key []byte, ro *ReadOptions, copyValue bool) ([]byte, error) {
	// The read state first, then the sequence number: a Version loaded after the sequence number
	// was read could come from a compaction that already dropped entries the read needs.
	rs := d.loadReadState()
	if rs == nil {
		return nil, ErrClosed
	}
	defer rs.unref()
	seq, err := d.readSeq(ro)
	if err != nil {
		return nil, err
	}
	return d.getIn(rs, key, seq, d.sstableReadOptions(ro), copyValue)
}

// getAt is get through snap, with default read options: a transaction's read.
func (d *DB) getAt(key []byte, snap *Snapshot, copyValue bool) ([]byte, error) {
	rs := d.loadReadState()
	if rs == nil {
		return nil, ErrClosed
	}
	defer rs.unref()
	if snap.isReleased() {
		return nil, dberr.InvalidArgf("snapshot already released")
	}
	return d.getIn(rs, key, snap.seq, d.sstableReadOptions(nil), copyValue)
}

// getIn looks key up in rs as of seq.
func (d *DB) getIn(rs *readState, key []byte, seq keys.SeqNum, sro sstable.ReadOptions, copyValue bool) ([]byte, error) {
	for _, m := range [2]*memtable.MemTable{rs.mem, rs.imm} {
		if m == nil {
			continue
		}
		switch v, res := m.Get(key, seq); res {
		case memtable.Found:
			if !copyValue {
				return present, nil
			}
			return append([]byte{}, v...), nil
		case memtable.Deleted:
			return nil, ErrNotFound
		}
	}

	s := getPool.Get().(*getScratch)
	defer getPool.Put(s)
	s.lookup = keys.AppendInternalKey(s.lookup[:0], key, seq, keys.KindMax)
	s.candidates = rs.version.AppendCandidates(s.candidates[:0], s.lookup)
	for i, c := range s.candidates {
		if i == 1 {
			// The lookup went past the first file it searched: charge that file a seek.
			d.recordSeek(rs.version, s.candidates[0])
		}
		v, found, err := d.getFromTable(c.File, s, key, sro, copyValue)
		if err != nil {
			return nil, err
		}
		if found {
			if v == nil {
				return nil, ErrNotFound
			}
			return v, nil
		}
	}
	return nil, ErrNotFound
}

// recordSeek charges c's file for a wasted seek and, when that makes it due for a seek
// compaction, wakes the background goroutine.
func (d *DB) recordSeek(v *compaction.Version, c compaction.Candidate) {
	if v.RecordSeek(c.File, c.Level) {
		d.mu.Lock()
		d.mu.bgCond.Broadcast()
		d.mu.Unlock()
	}
}

// getFromTable looks key up in one table. found reports whether the table decided the lookup: a
// value (returned as a fresh copy, or as present without copyValue) or a deletion (v == nil).
func (d *DB) getFromTable(f *compaction.FileMetadata, s *getScratch, key []byte, sro sstable.ReadOptions, copyValue bool) (v []byte, found bool, err error) {
	h, err := d.tables.acquire(f.Num)
	if err != nil {
		return nil, false, err
	}
	defer h.Release()
	k, val, err := h.Value().Get(s.found[:0], s.lookup, sro)
	if k != nil {
		s.found = k[:0]
	}
	if errors.Is(err, dberr.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	pk, ok := keys.Parse(k)
	if !ok {
		return nil, false, dberr.Corruptf(h.Value().Name(), dberr.NoOffset, "bad internal key %q", k)
	}
	if d.icmp.CompareUser(pk.UserKey, key) != 0 {
		return nil, false, nil
	}
	if pk.Kind == keys.KindDelete {
		return nil, true, nil
	}
	if !copyValue {
		return present, true, nil
	}
	return append([]byte{}, val...), true, nil
}

// readSeq returns the sequence number a read sees: its snapshot's, or the latest.
func (d *DB) readSeq(ro *ReadOptions) (keys.SeqNum, error) {
	if ro == nil || ro.Snapshot == nil {
		return keys.SeqNum(d.lastSeq.Load()), nil
	}
	s := ro.Snapshot
	if s.db != d {
		return 0, dberr.InvalidArgf("snapshot belongs to another DB")
	}
	if s.isReleased() {
		return 0, dberr.InvalidArgf("snapshot already released")
	}
	return s.seq, nil
}

// sstableReadOptions maps a DB read's options to a table read's.
func (d *DB) sstableReadOptions(ro *ReadOptions) sstable.ReadOptions {
	var o sstable.ReadOptions
	if ro != nil {
		o.VerifyChecksums = ro.VerifyChecksums
		o.DontFillCache = ro.DontFillCache
	}
	o.VerifyChecksums = o.VerifyChecksums || d.opts.ParanoidChecks
	return o
}
