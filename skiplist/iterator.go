package skiplist

// Iterator walks a List in either direction. It is a small value: declare one, Init it, and use
// it from one goroutine; it allocates nothing. Keys and values it returns alias the arena and stay
// valid for as long as the List is alive.
type Iterator struct {
	list *List
	nd   uint32 // current node, 0 when not positioned on an entry
}

// NewIterator returns an unpositioned iterator over l.
func (l *List) NewIterator() Iterator { return Iterator{list: l} }

// Init points it at l, unpositioned.
func (it *Iterator) Init(l *List) { *it = Iterator{list: l} }

// Valid reports whether the iterator is positioned on an entry.
func (it *Iterator) Valid() bool { return it.nd != 0 }

// Key returns the current key without its tag. Precondition: Valid.
func (it *Iterator) Key() []byte { return it.list.arena.key(it.list.arena.node(it.nd)) }

// KeyWithTag returns the current key followed by its eight tag bytes, one slice in the arena:
// for the memtable, the encoded internal key. Precondition: Valid.
func (it *Iterator) KeyWithTag() []byte { return it.list.arena.keyWithTag(it.list.arena.node(it.nd)) }

// Tag returns the current tag. Precondition: Valid.
func (it *Iterator) Tag() uint64 { return it.list.arena.tag(it.list.arena.node(it.nd)) }

// Value returns the current value. Precondition: Valid.
func (it *Iterator) Value() []byte { return it.list.arena.value(it.list.arena.node(it.nd)) }

// First moves to the first entry and reports Valid.
func (it *Iterator) First() bool {
	it.nd = it.list.arena.node(it.list.head).next(0)
	return it.nd != 0
}

// Last moves to the last entry and reports Valid.
func (it *Iterator) Last() bool {
	l := it.list
	x := l.head
	for level := int(l.height.Load()) - 1; level >= 0; level-- {
		for next := l.arena.node(x).next(level); next != 0; next = l.arena.node(x).next(level) {
			x = next
		}
	}
	it.setOrClear(x)
	return it.nd != 0
}

// Next moves to the following entry and reports Valid. Precondition: Valid.
func (it *Iterator) Next() bool {
	it.nd = it.list.arena.node(it.nd).next(0)
	return it.nd != 0
}

// Prev moves to the preceding entry and reports Valid. Precondition: Valid.
func (it *Iterator) Prev() bool {
	it.setOrClear(it.list.arena.node(it.nd).loadPrev())
	return it.nd != 0
}

// SeekGE moves to the first entry at or after (key, tag) and reports Valid.
func (it *Iterator) SeekGE(key []byte, tag uint64) bool {
	_, it.nd = it.list.seek(key, tag)
	return it.nd != 0
}

// SeekLT moves to the last entry before (key, tag) and reports Valid.
func (it *Iterator) SeekLT(key []byte, tag uint64) bool {
	prev, _ := it.list.seek(key, tag)
	it.setOrClear(prev)
	return it.nd != 0
}

// SetHandle positions the iterator on entry h, which must belong to its List.
func (it *Iterator) SetHandle(h Handle) { it.nd = uint32(h) }

// Handle returns the current entry's Handle. Precondition: Valid.
func (it *Iterator) Handle() Handle { return Handle(it.nd) }

// setOrClear positions the iterator on off, or clears it when off is the head.
func (it *Iterator) setOrClear(off uint32) {
	if off == it.list.head {
		off = 0
	}
	it.nd = off
}
