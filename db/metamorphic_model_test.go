package db

// metaModel, the model the metamorphic test holds every option set to: a map of the latest
// state, frozen copies for snapshots, sorted slices for iterators, all ordered by the run's
// comparator; and for transactions, the rule of their commit check: a transaction with writes
// and reads conflicts exactly when a key it read with Get (not one it had written), or a key in
// a range one of its iterators covered, was written by anyone else after it began. An iterator
// covers, from each First, Last, SeekGE or SeekLT, the keys from where that call started (the
// seek key, or the lower bound) to where it stopped, and every key its Next and Prev calls pass
// over from there, up to the upper (or down to the lower) bound when they run off the end.

import (
	"maps"
	"slices"
)

type metaModel struct {
	cmp      Comparator
	state    map[string]string
	readOnly bool
	clock    int            // counts the writes that wrote keys
	written  map[string]int // each key's last write, by clock
}

func newMetaModel(cmp Comparator) *metaModel {
	return &metaModel{cmp: cmp, state: map[string]string{}, written: map[string]int{}}
}

// apply writes the last write of each key in writes (nil: a delete) as one write.
func (m *metaModel) apply(writes map[string]*string) {
	if len(writes) == 0 {
		return
	}
	m.clock++
	for k, v := range writes {
		if v == nil {
			delete(m.state, k)
		} else {
			m.state[k] = *v
		}
		m.written[k] = m.clock
	}
}

func (m *metaModel) write(op *metaOp) error {
	if m.readOnly {
		return ErrReadOnly
	}
	w := map[string]*string{}
	put := func(k []byte, v metaValue) { s := string(v.bytes()); w[string(k)] = &s }
	switch op.Kind {
	case metaPut:
		put(op.Key, op.Value)
	case metaDel:
		w[string(op.Key)] = nil
	case metaBatch:
		for _, e := range op.Entries {
			if e.Del {
				w[string(e.Key)] = nil
			} else {
				put(e.Key, e.Value)
			}
		}
	}
	m.apply(w)
	return nil
}

// contents returns the contents a read sees: snap's, or the latest state's.
func (m *metaModel) contents(snap any) map[string]string {
	if s, ok := snap.(map[string]string); ok {
		return s
	}
	return m.state
}

func (m *metaModel) get(key []byte, snap any) ([]byte, error) {
	v, ok := m.contents(snap)[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return []byte(v), nil
}

// sorted returns the entries of c in [lower, upper) (nil: unbounded), in the comparator's order.
func (m *metaModel) sorted(c map[string]string, lower, upper []byte) []metaKV {
	kvs := make([]metaKV, 0, len(c))
	for k, v := range c {
		if lower != nil && m.cmp.Compare([]byte(k), lower) < 0 || upper != nil && m.cmp.Compare([]byte(k), upper) >= 0 {
			continue
		}
		kvs = append(kvs, metaKV{[]byte(k), []byte(v)})
	}
	slices.SortFunc(kvs, func(a, b metaKV) int { return m.cmp.Compare(a.Key, b.Key) })
	return kvs
}

func (m *metaModel) scan(snap any) ([]metaKV, error) {
	return m.sorted(m.contents(snap), nil, nil), nil
}

func (m *metaModel) newSnapshot() any { return maps.Clone(m.state) }
func (m *metaModel) release(any)      {}

// metaModelIter is an iterator of the model: the entries it sees and its position (-1 or
// len(kvs): not positioned); for a transaction's iterator, the range it is covering.
type metaModelIter struct {
	m            *metaModel
	kvs          []metaKV
	pos          int
	lower, upper []byte
	txn          *metaModelTxn
	cur          *metaRange
}

func (m *metaModel) newIter(snap, txn any, lower, upper []byte) any {
	c := m.contents(snap)
	tx, _ := txn.(*metaModelTxn)
	if tx != nil {
		c = tx.view()
	}
	return &metaModelIter{m: m, kvs: m.sorted(c, lower, upper), pos: -1, lower: lower, upper: upper, txn: tx}
}

func (m *metaModel) move(h any, kind metaKind, key []byte) (metaKV, bool, error) {
	it := h.(*metaModelIter)
	cmp := m.cmp.Compare
	n := len(it.kvs)
	switch kind {
	case metaFirst:
		it.pos = 0
	case metaLast:
		it.pos = n - 1
	case metaNext:
		it.pos++
	case metaPrev:
		it.pos--
	case metaSeekGE:
		it.pos, _ = slices.BinarySearchFunc(it.kvs, key, func(e metaKV, k []byte) int { return cmp(e.Key, k) })
	case metaSeekLT:
		i, _ := slices.BinarySearchFunc(it.kvs, key, func(e metaKV, k []byte) int { return cmp(e.Key, k) })
		it.pos = i - 1
	}
	valid := it.pos >= 0 && it.pos < n
	if !valid {
		it.pos = -1
	}
	if it.txn != nil {
		it.record(kind, key, valid)
	}
	if !valid {
		return metaKV{}, false, nil
	}
	return it.kvs[it.pos], true, nil
}

// metaRange is a range of keys a transaction's iterator covered: from lo, included, to hi,
// included unless hiOpen; loNil and hiNil mean unbounded on that side. (An empty key is a key:
// in the reverse order the empty key sorts last.)
type metaRange struct {
	lo, hi       []byte
	loNil, hiNil bool
	hiOpen       bool
}

func (r *metaRange) contains(cmp Comparator, k []byte) bool {
	if !r.loNil && cmp.Compare(k, r.lo) < 0 {
		return false
	}
	if r.hiNil {
		return true
	}
	c := cmp.Compare(k, r.hi)
	return c < 0 || c == 0 && !r.hiOpen
}

// record records what a move covered (see the file comment).
func (it *metaModelIter) record(kind metaKind, key []byte, valid bool) {
	cmp := it.m.cmp
	// lo and hi are where the move stopped, as the start or the end of a range: the key it is
	// on, or the bound it ran into.
	lo := metaRange{lo: it.lower, loNil: it.lower == nil}
	hi := metaRange{hi: it.upper, hiNil: it.upper == nil, hiOpen: true}
	if valid {
		at := it.kvs[it.pos].Key
		lo = metaRange{lo: at}
		hi = metaRange{hi: at}
	}
	r := it.cur
	switch kind {
	case metaFirst, metaSeekGE:
		r = &metaRange{lo: it.lower, loNil: it.lower == nil, hi: hi.hi, hiNil: hi.hiNil, hiOpen: hi.hiOpen}
		if kind == metaSeekGE && (it.lower == nil || cmp.Compare(key, it.lower) >= 0) {
			r.lo, r.loNil = key, false // a seek below the lower bound starts at the bound
		}
	case metaLast, metaSeekLT:
		r = &metaRange{lo: lo.lo, loNil: lo.loNil, hi: it.upper, hiNil: it.upper == nil, hiOpen: true}
		if kind == metaSeekLT && (it.upper == nil || cmp.Compare(key, it.upper) <= 0) {
			r.hi, r.hiNil = key, false // a seek above the upper bound ends at the bound
		}
	case metaNext: // extend the range up to where it stopped
		if !r.hiNil {
			c := 0
			if !hi.hiNil {
				c = cmp.Compare(hi.hi, r.hi)
			}
			if hi.hiNil || c > 0 || c == 0 && r.hiOpen && !hi.hiOpen {
				r.hi, r.hiNil, r.hiOpen = hi.hi, hi.hiNil, hi.hiOpen
			}
		}
		return
	case metaPrev: // extend the range down to where it stopped
		if !r.loNil && (lo.loNil || cmp.Compare(lo.lo, r.lo) < 0) {
			r.lo, r.loNil = lo.lo, lo.loNil
		}
		return
	}
	it.cur = r
	it.txn.ranges = append(it.txn.ranges, r)
}

func (m *metaModel) closeIter(any) error { return nil }

func (m *metaModel) compact(start, limit []byte) error {
	if m.readOnly {
		return ErrReadOnly
	}
	return nil
}

func (m *metaModel) flush() error { return nil }

func (m *metaModel) reopen(kind metaKind) error {
	m.readOnly = kind == metaReadOnly
	return nil
}

func (m *metaModel) checkpoint(bool) ([]metaKV, error) { return m.sorted(m.state, nil, nil), nil }

// metaModelTxn is a transaction of the model.
type metaModelTxn struct {
	begin  int // the clock when it began
	snap   map[string]string
	writes map[string]*string // each key's last write (nil: a delete)
	points map[string]bool    // the keys it read with Get
	ranges []*metaRange       // the ranges its iterators covered
}

// view is what the transaction sees: its snapshot with its writes over it.
func (x *metaModelTxn) view() map[string]string {
	v := maps.Clone(x.snap)
	for k, w := range x.writes {
		if w == nil {
			delete(v, k)
		} else {
			v[k] = *w
		}
	}
	return v
}

func (m *metaModel) txnBegin() any {
	return &metaModelTxn{begin: m.clock, snap: maps.Clone(m.state), writes: map[string]*string{}, points: map[string]bool{}}
}

func (m *metaModel) txnGet(tx any, key []byte) ([]byte, error) {
	x := tx.(*metaModelTxn)
	if w, own := x.writes[string(key)]; own {
		if w == nil {
			return nil, ErrNotFound
		}
		return []byte(*w), nil
	}
	x.points[string(key)] = true
	v, ok := x.snap[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return []byte(v), nil
}

func (m *metaModel) txnPut(tx any, key, value []byte) error {
	v := string(value)
	tx.(*metaModelTxn).writes[string(key)] = &v
	return nil
}

func (m *metaModel) txnDel(tx any, key []byte) error {
	tx.(*metaModelTxn).writes[string(key)] = nil
	return nil
}

func (m *metaModel) txnCommit(tx any, _ bool) error {
	x := tx.(*metaModelTxn)
	if len(x.writes) == 0 {
		return nil
	}
	if m.readOnly {
		return ErrReadOnly
	}
	for k, at := range m.written {
		if at <= x.begin {
			continue
		}
		if x.points[k] {
			return ErrConflict
		}
		for _, r := range x.ranges {
			if r.contains(m.cmp, []byte(k)) {
				return ErrConflict
			}
		}
	}
	m.apply(x.writes)
	return nil
}

func (m *metaModel) txnDiscard(any) {}

func (m *metaModel) update(key, dest, value []byte) ([]byte, error, error) {
	got, err := m.get(key, nil)
	if m.readOnly {
		return got, err, ErrReadOnly
	}
	w := map[string]*string{string(dest): nil}
	if err == nil {
		v := string(value)
		w[string(dest)] = &v
	}
	m.apply(w)
	return got, err, nil
}

func (m *metaModel) view(key []byte) ([]byte, error) { return m.get(key, nil) }

func (m *metaModel) close() error { return nil }
