package db

import (
	"fmt"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
)

// The commit-time check of transactions.
//
// A transaction T reads at its snapshot S and records what it read: the keys of its Gets and
// the key ranges its iterators covered (readSet). T may commit only if no write with a sequence
// number after S touched any of them. Writes come in write groups, one at a time from the
// commit queue's leader, so "after S" is "in a group logged after S": the check looks at those
// groups' batches, never at the memtables or tables.
//
// The DB keeps the batches of the groups written since the oldest open transaction began
// (commitHistory), and only while one is open: with none, writes pay one comparison. The check
// runs in the leader, under the DB's mutex, against the groups after S and the members of the
// leader's own group queued before T; so no write can land between the check and T's own
// write, and the cost is proportional to the writes made while T was open, not to the DB's
// size or the ranges T scanned.
//
// The history is bounded (maxHistoryBytes). When it would grow past that, its oldest groups are
// dropped and the transactions that needed them are marked lapsed; a lapsed transaction checks
// the writes it can no longer find in the history against the DB itself before it joins the
// queue (revalidate: every key it read, and every entry of every range it covered, looked up at
// its snapshot's successors in the memtables and tables), and then against the history from
// there on. The DB can answer because T's snapshot is registered: compaction keeps every entry
// newer than the oldest snapshot, so each write after S is still in the tree.

// maxHistoryBytes bounds the batches commitHistory keeps for open transactions.
const maxHistoryBytes = 32 << 20

// keyRange is a stretch of user keys an iterator covered: [lo, hi], or [lo, hi) when hiOpen;
// a nil lo or hi is unbounded on that side.
type keyRange struct {
	lo, hi []byte
	hiOpen bool
}

// contains reports whether key lies in r, in the order cmp.
func (r *keyRange) contains(cmp keys.Comparator, key []byte) bool {
	if r.lo != nil && cmp.Compare(key, r.lo) < 0 {
		return false
	}
	if r.hi == nil {
		return true
	}
	c := cmp.Compare(key, r.hi)
	return c < 0 || (c == 0 && !r.hiOpen)
}

// readSet is what a transaction read: point keys and covered ranges. The first few point keys
// are kept in a slice, the rest in a map.
type readSet struct {
	few    [][]byte
	points map[string]struct{}
	ranges []*keyRange
}

// smallTxn is how many keys a transaction keeps in slices, searched in full, before it indexes
// them in a map.
const smallTxn = 16

func (rs *readSet) empty() bool { return len(rs.few) == 0 && len(rs.ranges) == 0 }

// addPoint records a Get of key.
func (rs *readSet) addPoint(key []byte) {
	if len(rs.few) < smallTxn {
		rs.few = append(rs.few, append([]byte(nil), key...))
		return
	}
	if rs.points == nil {
		rs.points = make(map[string]struct{})
	}
	rs.points[string(key)] = struct{}{}
}

// eachPoint calls fn with every point key read.
func (rs *readSet) eachPoint(fn func(key []byte) error) error {
	for _, k := range rs.few {
		if err := fn(k); err != nil {
			return err
		}
	}
	for k := range rs.points {
		if err := fn([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

// touches reports whether key is one the transaction read.
func (rs *readSet) touches(cmp keys.Comparator, key []byte) bool {
	for _, k := range rs.few {
		if string(k) == string(key) {
			return true
		}
	}
	if _, ok := rs.points[string(key)]; ok {
		return true
	}
	for _, r := range rs.ranges {
		if r.contains(cmp, key) {
			return true
		}
	}
	return false
}

// conflictIn returns the first key of the batch repr that the read set touches, or nil.
func (rs *readSet) conflictIn(cmp keys.Comparator, repr batch.Repr) []byte {
	if len(repr) <= batch.HeaderLen || repr.Count() == 0 {
		return nil
	}
	r, err := batch.NewReader(repr, "write group", 0)
	if err != nil {
		return nil // the commit path validated it
	}
	for _, key, _, ok := r.Next(); ok; _, key, _, ok = r.Next() {
		if rs.touches(cmp, key) {
			return key
		}
	}
	return nil
}

// txnCheck is what the commit queue's leader checks for a transaction (commitEnv.checkLocked).
type txnCheck struct {
	state *txnState
	reads *readSet
}

// checkLocked implements commitEnv. A transaction that passes is written in this group: it
// needs the history no more, so it leaves it (and when it was the only one open, its own group
// is not copied into the history).
func (d *DB) checkLocked(c *txnCheck, earlier []batch.Repr) error {
	err := d.conflictLocked(c.state, c.reads, earlier)
	if err == nil {
		d.mu.history.unregister(c.state)
	}
	return err
}

// txnState is an open transaction's registration in the history: from is the sequence number
// after which the history holds every group for it; lapsed says the history dropped groups it
// needed. Guarded by d.mu.
type txnState struct {
	from   keys.SeqNum
	lapsed bool
}

// historyGroup is one write group's batch, copied, and its last sequence number.
type historyGroup struct {
	last keys.SeqNum
	repr batch.Repr
}

// commitHistory keeps the batches of the groups written while transactions are open. Guarded by
// d.mu.
type commitHistory struct {
	open   map[*txnState]struct{}
	groups []historyGroup // oldest first
	bytes  int
	limit  int // the bound; 0 means maxHistoryBytes (tests set less)
}

// register adds a transaction whose history starts after seq.
func (h *commitHistory) register(t *txnState, seq keys.SeqNum) {
	if h.open == nil {
		h.open = make(map[*txnState]struct{})
	}
	t.from, t.lapsed = seq, false
	h.open[t] = struct{}{}
}

// unregister removes a transaction; with none left the history empties.
func (h *commitHistory) unregister(t *txnState) {
	delete(h.open, t)
	if len(h.open) == 0 {
		clear(h.groups)
		h.groups, h.bytes = h.groups[:0], 0
	}
}

// lapseAll sends every open transaction back to check its reads against the DB itself: a bulk
// load wrote keys the history has no batch for.
func (h *commitHistory) lapseAll() {
	for t := range h.open {
		t.lapsed = true
	}
	clear(h.open)
	clear(h.groups)
	h.groups, h.bytes = h.groups[:0], 0
}

// record keeps a copy of a group's batch, whose last sequence number is last, when a
// transaction is open; it then drops the groups no open transaction needs, and lapses the
// oldest transactions while the history is over its bound.
func (h *commitHistory) record(repr batch.Repr, last keys.SeqNum) {
	if len(h.open) == 0 {
		return
	}
	h.groups = append(h.groups, historyGroup{last: last, repr: append(batch.Repr(nil), repr...)})
	h.bytes += len(repr)
	oldest := last
	for t := range h.open {
		oldest = min(oldest, t.from)
	}
	limit := h.limit
	if limit == 0 {
		limit = maxHistoryBytes
	}
	drop := 0
	for drop < len(h.groups) && (h.groups[drop].last <= oldest || h.bytes > limit) {
		g := h.groups[drop]
		h.bytes -= len(g.repr)
		for t := range h.open {
			if t.from < g.last {
				t.lapsed = true // it needs g, which is going
				delete(h.open, t)
			}
		}
		drop++
	}
	if drop > 0 {
		n := copy(h.groups, h.groups[drop:])
		clear(h.groups[n:])
		h.groups = h.groups[:n]
	}
}

// conflictLocked checks a transaction against the groups written after its history starts and
// against earlier, the batches of its own group queued before it. It returns ErrConflict
// (wrapped, naming the key), errLapsed when the history no longer covers it, or nil.
func (d *DB) conflictLocked(t *txnState, rs *readSet, earlier []batch.Repr) error {
	if t.lapsed {
		return errLapsed
	}
	cmp := d.opts.Comparator
	for i := len(d.mu.history.groups) - 1; i >= 0; i-- {
		g := &d.mu.history.groups[i]
		if g.last <= t.from {
			break
		}
		if k := rs.conflictIn(cmp, g.repr); k != nil {
			return conflictError(k)
		}
	}
	for _, repr := range earlier {
		if k := rs.conflictIn(cmp, repr); k != nil {
			return conflictError(k)
		}
	}
	return nil
}

func conflictError(key []byte) error {
	return fmt.Errorf("%w: %s was written after the transaction began", ErrConflict, keys.FormatUserKey(key))
}

// errLapsed sends a transaction whose history was dropped back to revalidate.
var errLapsed = fmt.Errorf("strata: transaction history lapsed")

// revalidate checks, against the DB itself, the writes a lapsed transaction can no longer find
// in the history: those with sequence numbers in (seq, upto], where seq is its snapshot (or
// where it last checked) and upto where it has been registered again. It is called without
// d.mu; the transaction's snapshot keeps every such write in the tree (see above).
func (d *DB) revalidate(rs *readSet, seq, upto keys.SeqNum) error {
	if upto == seq {
		return nil
	}
	state := d.loadReadState() // loaded after upto was published: it holds every write up to it
	if state == nil {
		return ErrClosed
	}
	defer state.unref()
	it, err := d.newInternalIterator(state, d.sstableReadOptions(nil))
	if err != nil {
		return err
	}
	defer it.Close()
	cmp := d.opts.Comparator
	newer := func(ikey []byte) (bool, error) {
		pk, ok := keys.Parse(ikey)
		if !ok {
			return false, fmt.Errorf("%w: bad internal key %q", ErrCorruption, ikey)
		}
		return pk.Seq > seq && pk.Seq <= upto, nil
	}
	err = rs.eachPoint(func(key []byte) error {
		// The newest entry of key at or below upto.
		if !it.SeekGE(keys.AppendInternalKey(nil, key, upto, keys.KindMax)) {
			return it.Error()
		}
		if cmp.Compare(keys.UserKey(it.Key()), key) != 0 {
			return nil
		}
		if n, err := newer(it.Key()); err != nil || n {
			return firstOf(err, conflictError(key))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range rs.ranges {
		if err := scanRange(it, cmp, r, newer); err != nil {
			return err
		}
	}
	return nil
}

// scanRange walks every entry of it (an internal iterator) whose user key lies in r and fails
// with a conflict at the first one newer reports.
func scanRange(it iterator.Iterator, cmp keys.Comparator, r *keyRange, newer func([]byte) (bool, error)) error {
	ok := it.First()
	if r.lo != nil {
		ok = it.SeekGE(keys.AppendInternalKey(nil, r.lo, keys.MaxSeqNum, keys.KindMax))
	}
	for ; ok; ok = it.Next() {
		ukey := keys.UserKey(it.Key())
		if !r.contains(cmp, ukey) {
			if r.lo == nil || cmp.Compare(ukey, r.lo) >= 0 {
				break // past hi
			}
			continue
		}
		if n, err := newer(it.Key()); err != nil || n {
			return firstOf(err, conflictError(ukey))
		}
	}
	return it.Error()
}

func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
