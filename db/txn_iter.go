package db

import (
	"slices"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
)

// A transaction's iterator reads the DB at the transaction's snapshot S with the transaction's
// own writes laid over it. Its internal source merges two: the DB's entries at or below S
// (seqCeiling over the usual merge of memtables and tables), and the transaction's writes as
// entries at S+1 (txnOverlay), which sort before every entry of the same key at or below S. The
// usual Visible at S+1 then shows the transaction's write of a key where there is one, the DB's
// newest version at or below S otherwise, and hides deletions of either kind.

// NewIterator returns an iterator over the DB as the transaction sees it: the DB as of the
// transaction's start with the transaction's writes so far laid over it (writes made after
// NewIterator are not seen by this iterator). ro's bounds and read options apply; its Snapshot
// must be nil. Every range the iterator covers, from where a First, Last, Seek or SeekLT put it
// to where Next or Prev left it, is recorded as read: a write into it by anyone else after the
// transaction began makes Commit fail with ErrConflict. Close it before the transaction ends.
func (tx *Transaction) NewIterator(ro *ReadOptions) *Iterator {
	if tx.done {
		return &Iterator{err: errTxnDone("NewIterator")}
	}
	var o ReadOptions
	if ro != nil {
		if ro.Snapshot != nil {
			return &Iterator{err: errTxnSnapshot}
		}
		o = *ro
	}
	o.Snapshot = &tx.snap
	d := tx.d
	rs := d.loadReadState()
	if rs == nil {
		return &Iterator{err: ErrClosed}
	}
	seq, err := d.readSeq(&o)
	if err != nil {
		rs.unref()
		return &Iterator{err: err}
	}
	lower, upper := cloneBound(o.LowerBound), cloneBound(o.UpperBound)
	internal, err := d.newInternalIterator(rs, d.sstableReadOptions(&o))
	if err != nil {
		rs.unref()
		return &Iterator{err: err}
	}
	merged := iterator.NewMerging(d.icmp.Compare, newTxnOverlay(tx, seq+1), &seqCeiling{Iterator: internal, max: seq})
	it := &Iterator{d: d, rs: rs, vis: iterator.NewVisible(merged, d.opts.Comparator, seq+1, lower, upper)}
	if !tx.view {
		it.rec = &rangeRecorder{cmp: d.opts.Comparator, reads: &tx.reads, lower: lower, upper: upper}
	}
	return it
}

var errTxnSnapshot = dberr.InvalidArgf("a transaction's iterator reads at the transaction's snapshot: ReadOptions.Snapshot must be nil")

// seqCeiling hides the entries of an internal iterator newer than max.
type seqCeiling struct {
	iterator.Iterator
	max keys.SeqNum
}

func (s *seqCeiling) visible() bool {
	pk, ok := keys.Parse(s.Iterator.Key())
	return !ok || pk.Seq <= s.max // an unparsable key is left for Visible to report
}

func (s *seqCeiling) forward(ok bool) bool {
	for ok && !s.visible() {
		ok = s.Iterator.Next()
	}
	return ok
}

func (s *seqCeiling) backward(ok bool) bool {
	for ok && !s.visible() {
		ok = s.Iterator.Prev()
	}
	return ok
}

func (s *seqCeiling) First() bool            { return s.forward(s.Iterator.First()) }
func (s *seqCeiling) Last() bool             { return s.backward(s.Iterator.Last()) }
func (s *seqCeiling) SeekGE(key []byte) bool { return s.forward(s.Iterator.SeekGE(key)) }
func (s *seqCeiling) SeekLT(key []byte) bool { return s.backward(s.Iterator.SeekLT(key)) }
func (s *seqCeiling) Next() bool             { return s.forward(s.Iterator.Next()) }
func (s *seqCeiling) Prev() bool             { return s.backward(s.Iterator.Prev()) }

// txnOverlay is an internal iterator over a transaction's latest writes, each as one entry at
// sequence number seq, taken when it is made.
type txnOverlay struct {
	cmp     func(a, b []byte) int
	ikeys   [][]byte
	values  [][]byte
	pos     int // -1 or len(ikeys): invalid
	invalid bool
}

func newTxnOverlay(tx *Transaction, seq keys.SeqNum) *txnOverlay {
	d := tx.d
	latest := tx.lastWrites()
	ukeys := make([]string, 0, len(latest))
	for k := range latest {
		ukeys = append(ukeys, k)
	}
	ucmp := d.opts.Comparator
	slices.SortFunc(ukeys, func(a, b string) int { return ucmp.Compare([]byte(a), []byte(b)) })
	o := &txnOverlay{cmp: d.icmp.Compare, pos: -1}
	for _, k := range ukeys {
		w := latest[k]
		kind := keys.KindSet
		if w.deleted {
			kind = keys.KindDelete
		}
		o.ikeys = append(o.ikeys, keys.AppendInternalKey(nil, []byte(k), seq, kind))
		o.values = append(o.values, w.value)
	}
	return o
}

func (o *txnOverlay) at(i int) bool {
	o.pos = i
	return o.Valid()
}

func (o *txnOverlay) First() bool { return o.at(0) }
func (o *txnOverlay) Last() bool  { return o.at(len(o.ikeys) - 1) }
func (o *txnOverlay) SeekGE(key []byte) bool {
	i, _ := slices.BinarySearchFunc(o.ikeys, key, o.cmp)
	return o.at(i)
}
func (o *txnOverlay) SeekLT(key []byte) bool {
	i, _ := slices.BinarySearchFunc(o.ikeys, key, o.cmp)
	return o.at(i - 1)
}
func (o *txnOverlay) Next() bool    { return o.at(o.pos + 1) }
func (o *txnOverlay) Prev() bool    { return o.at(o.pos - 1) }
func (o *txnOverlay) Valid() bool   { return o.pos >= 0 && o.pos < len(o.ikeys) }
func (o *txnOverlay) Key() []byte   { return o.ikeys[o.pos] }
func (o *txnOverlay) Value() []byte { return o.values[o.pos] }
func (o *txnOverlay) Error() error  { return nil }
func (o *txnOverlay) Close() error  { return nil }

// rangeRecorder records, for a transaction, the ranges its iterator covers (see NewIterator).
// lower and upper are the iterator's bounds: where a move past the last key found stops. A
// positioning call starts a new range; Next and Prev only ever widen the current one (a change
// of direction walks back over keys the range already holds). Keys are copied into non-nil
// slices: the empty key is a key, where a nil bound is unbounded.
type rangeRecorder struct {
	cmp          keys.Comparator
	reads        *readSet
	lower, upper []byte
	cur          *keyRange
	hiOwned      bool // cur.hi is a copy the recorder may overwrite
}

// begin starts a new range, the iterator having been positioned anew.
func (r *rangeRecorder) begin() {
	r.cur = &keyRange{}
	r.hiOwned = false
	r.reads.ranges = append(r.reads.ranges, r.cur)
}

// setLo sets the start of a new range: key, or the lower bound when the iterator is invalid.
func (r *rangeRecorder) setLo(it *Iterator, ok bool) {
	if ok {
		r.cur.lo = append([]byte{}, it.Key()...)
	} else {
		r.cur.lo = r.lower
	}
}

// setHi sets the end of a new range: key, or (exclusive) the upper bound when the iterator is
// invalid.
func (r *rangeRecorder) setHi(it *Iterator, ok bool) {
	if !ok {
		r.cur.hi, r.cur.hiOpen, r.hiOwned = r.upper, true, false
		return
	}
	if r.hiOwned {
		r.cur.hi = append(r.cur.hi[:0], it.Key()...)
	} else {
		r.cur.hi = append([]byte{}, it.Key()...)
	}
	r.cur.hiOpen, r.hiOwned = false, true
}

// widenLo lowers the current range's start to where Prev left the iterator (the key, or the
// lower bound when it ran off), if that is lower.
func (r *rangeRecorder) widenLo(it *Iterator, ok bool) {
	switch {
	case r.cur.lo == nil: // unbounded already
	case ok && r.cmp.Compare(it.Key(), r.cur.lo) < 0:
		r.setLo(it, true)
	case !ok && (r.lower == nil || r.cmp.Compare(r.lower, r.cur.lo) < 0):
		r.setLo(it, false)
	}
}

// widenHi raises the current range's end to where Next left the iterator (the key, or the
// upper bound when it ran off), if that is higher.
func (r *rangeRecorder) widenHi(it *Iterator, ok bool) {
	if r.cur.hi == nil {
		return // unbounded already
	}
	if !ok {
		if r.upper == nil || r.cmp.Compare(r.upper, r.cur.hi) > 0 {
			r.setHi(it, false)
		}
		return
	}
	if c := r.cmp.Compare(it.Key(), r.cur.hi); c > 0 || (c == 0 && r.cur.hiOpen) {
		r.setHi(it, true)
	}
}

func (r *rangeRecorder) first(it *Iterator, ok bool) {
	r.begin()
	r.cur.lo = r.lower
	r.setHi(it, ok)
}

func (r *rangeRecorder) last(it *Iterator, ok bool) {
	r.begin()
	r.cur.hi, r.cur.hiOpen = r.upper, true
	r.setLo(it, ok)
}

// seek starts a range at key, or at the lower bound when key is below it (the iterator sees
// nothing below its bounds).
func (r *rangeRecorder) seek(it *Iterator, key []byte, ok bool) {
	r.begin()
	if r.lower != nil && r.cmp.Compare(key, r.lower) < 0 {
		r.cur.lo = r.lower
	} else {
		r.cur.lo = append([]byte{}, key...)
	}
	r.setHi(it, ok)
}

// seekLT starts a range ending before key, or at the upper bound when key is above it.
func (r *rangeRecorder) seekLT(it *Iterator, key []byte, ok bool) {
	r.begin()
	if r.upper != nil && r.cmp.Compare(key, r.upper) > 0 {
		r.cur.hi, r.cur.hiOpen = r.upper, true
	} else {
		r.cur.hi, r.cur.hiOpen = append([]byte{}, key...), true
	}
	r.setLo(it, ok)
}

func (r *rangeRecorder) next(it *Iterator, ok bool) {
	if r.cur == nil {
		r.begin() // unbounded: Next without a positioning call
		return
	}
	r.widenHi(it, ok)
}

func (r *rangeRecorder) prev(it *Iterator, ok bool) {
	if r.cur == nil {
		r.begin()
		return
	}
	r.widenLo(it, ok)
}
