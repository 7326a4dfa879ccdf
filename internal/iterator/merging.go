package iterator

// NewMerging returns an iterator over the union of its children's entries, in the order cmp
// defines: the read path's heap over memtables and tables. Ties between children (equal keys)
// are broken by child index, lower index first when moving forward, so the DB passes its
// sources newest first. Each child's own keys must be strictly increasing; with internal keys
// they always are, and equal keys across children do not occur either.
//
// The merged sequence is the children's entries sorted by (key, child index), and Prev and Next
// move through that one sequence whatever the direction of the previous call, as leveldb's
// MergingIterator does: when the direction changes, every child but the current one is
// repositioned around the current key (for Prev after Next, on its last entry before the
// current one in that order; for Next after Prev, on its first entry after it), which costs a
// seek in every child.
//
// Errors: a child that stops with an error makes the merged iterator invalid with that error
// (contract 4). Close closes every child and returns the first error: the iterator's own, else
// the first child's Close error in child order.
//
// Steps allocate nothing: the heap is a slice of the children sized once, ordered by a
// comparison written out here rather than through container/heap's interface.
func NewMerging(cmp func(a, b []byte) int, its ...Iterator) Iterator {
	m := &merging{
		cmp:      cmp,
		children: make([]mergeChild, len(its)),
		heap:     make([]*mergeChild, 0, len(its)),
	}
	for i, it := range its {
		m.children[i] = mergeChild{it: it, index: i}
	}
	return m
}

type mergeChild struct {
	it    Iterator
	key   []byte // it.Key(), cached while it is valid and in the heap
	index int
}

type merging struct {
	cmp      func(a, b []byte) int
	children []mergeChild
	// heap holds the valid children, ordered so that heap[0] is the current entry: a min-heap
	// by (key, index) moving forward, a max-heap by (key, index) moving backward.
	heap    []*mergeChild
	reverse bool
	err     error
}

// less reports whether a comes before b in the heap's order.
func (m *merging) less(a, b *mergeChild) bool {
	c := m.cmp(a.key, b.key)
	if m.reverse {
		return c > 0 || c == 0 && a.index > b.index
	}
	return c < 0 || c == 0 && a.index < b.index
}

// down restores the heap property below i.
func (m *merging) down(i int) {
	h := m.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && m.less(h[r], h[l]) {
			j = r
		}
		if !m.less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// build collects the valid children into the heap, ordered for the given direction. A child
// that stopped with an error makes the whole iterator invalid.
func (m *merging) build(reverse bool) bool {
	m.reverse = reverse
	m.heap = m.heap[:0]
	for i := range m.children {
		c := &m.children[i]
		if c.it.Valid() {
			c.key = c.it.Key()
			m.heap = append(m.heap, c)
		} else if err := c.it.Error(); err != nil {
			return m.fail(err)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return len(m.heap) > 0
}

func (m *merging) fail(err error) bool {
	m.err = err
	m.heap = m.heap[:0]
	return false
}

// advanced fixes the heap after its top child moved: valid is what the move returned.
func (m *merging) advanced(valid bool) bool {
	top := m.heap[0]
	if valid {
		top.key = top.it.Key()
		m.down(0)
		return true
	}
	if err := top.it.Error(); err != nil {
		return m.fail(err)
	}
	n := len(m.heap) - 1
	m.heap[0] = m.heap[n]
	m.heap[n] = nil
	m.heap = m.heap[:n]
	m.down(0)
	return n > 0
}

func (m *merging) First() bool {
	m.err = nil
	for i := range m.children {
		m.children[i].it.First()
	}
	return m.build(false)
}

func (m *merging) Last() bool {
	m.err = nil
	for i := range m.children {
		m.children[i].it.Last()
	}
	return m.build(true)
}

func (m *merging) SeekGE(key []byte) bool {
	m.err = nil
	for i := range m.children {
		m.children[i].it.SeekGE(key)
	}
	return m.build(false)
}

func (m *merging) SeekLT(key []byte) bool {
	m.err = nil
	for i := range m.children {
		m.children[i].it.SeekLT(key)
	}
	return m.build(true)
}

func (m *merging) Next() bool {
	if len(m.heap) == 0 {
		return false
	}
	if m.reverse {
		return m.switchToForward()
	}
	return m.advanced(m.heap[0].it.Next())
}

func (m *merging) Prev() bool {
	if len(m.heap) == 0 {
		return false
	}
	if !m.reverse {
		return m.switchToReverse()
	}
	return m.advanced(m.heap[0].it.Prev())
}

// switchToForward moves to the entry after the current one when the heap is ordered backward.
// Every other child goes to its first entry after (key, top.index): children of lower index
// skip an entry equal to key, which comes before the current one; children of higher index
// keep it.
func (m *merging) switchToForward() bool {
	top := m.heap[0]
	key := top.key // stays valid: top does not move until the end
	for i := range m.children {
		c := &m.children[i]
		if c == top {
			continue
		}
		if c.it.SeekGE(key) && c.index < top.index && m.cmp(c.it.Key(), key) == 0 {
			c.it.Next()
		}
		if !c.it.Valid() {
			if err := c.it.Error(); err != nil {
				return m.fail(err)
			}
		}
	}
	top.it.Next()
	return m.build(false)
}

// switchToReverse moves to the entry before the current one when the heap is ordered forward.
// Every other child goes to its last entry before (key, top.index): children of higher index to
// their last key < key, children of lower index to their last key <= key.
func (m *merging) switchToReverse() bool {
	top := m.heap[0]
	key := top.key
	for i := range m.children {
		c := &m.children[i]
		if c == top {
			continue
		}
		if c.index > top.index {
			c.it.SeekLT(key)
		} else if c.it.SeekGE(key) {
			if m.cmp(c.it.Key(), key) != 0 {
				c.it.Prev()
			}
		} else if c.it.Error() == nil {
			c.it.Last() // every key of c is below key
		}
		if !c.it.Valid() {
			if err := c.it.Error(); err != nil {
				return m.fail(err)
			}
		}
	}
	top.it.Prev()
	return m.build(true)
}

func (m *merging) Valid() bool { return len(m.heap) > 0 }

func (m *merging) Key() []byte { return m.heap[0].key }

func (m *merging) Value() []byte { return m.heap[0].it.Value() }

func (m *merging) Error() error { return m.err }

func (m *merging) Close() error {
	err := m.err
	for i := range m.children {
		if cerr := m.children[i].it.Close(); err == nil {
			err = cerr
		}
	}
	m.children, m.heap = nil, nil
	return err
}
