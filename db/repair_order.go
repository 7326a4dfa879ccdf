package db

// Repair, step 6: table numbers that agree with the age of the data, found by merging the
// entries of tables whose key ranges overlap.

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"slices"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

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
// When no numbering can (versions interleave), it merges the tables instead.
func (r *repairer) orderComponent(comp []*repairTable) error {
	if len(comp) < 2 {
		return nil
	}
	older, err := r.olderVersions(comp)
	if err != nil || older == nil {
		return err
	}
	order := numberingOrder(comp, older)
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

// olderVersions returns, for each table a of comp, the tables that hold an older version of a
// key whose newest version a holds; nil when there are none.
func (r *repairer) olderVersions(comp []*repairTable) ([][]int, error) {
	older := make([][]int, len(comp))
	edges := make(map[[2]int]bool)
	var (
		user   []byte
		seq    keys.SeqNum
		newest []int // the tables holding the newest version of user (usually one)
		have   bool
	)
	err := r.mergeTables(comp, true, func(key, pos []byte) error {
		i := tablePosition(pos)
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
	if err != nil || len(edges) == 0 {
		return nil, err
	}
	return older, nil
}

// numberingOrder orders comp oldest first, every table after the tables holding older versions
// of its keys (Kahn's algorithm, the smallest number first among the tables ready). It returns
// fewer than len(comp) positions when no order exists.
func numberingOrder(comp []*repairTable, older [][]int) []int {
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
	return order
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
	err := r.mergeTables(comp, false, func(key, value []byte) error {
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

// mergeTables calls fn for every entry of ts in internal-key order (ties by position in ts),
// merged by internal/iterator's merging iterator. With positions, fn receives in place of each
// entry's value the position in ts of the table it comes from (tablePosition decodes it).
func (r *repairer) mergeTables(ts []*repairTable, positions bool, fn func(key, value []byte) error) error {
	its := make([]iterator.Iterator, 0, len(ts))
	for i, t := range ts {
		tb, err := r.d.tables.open(t.num)
		if err != nil {
			for _, it := range its {
				_ = it.Close()
			}
			return err
		}
		defer tb.Close()
		var it iterator.Iterator = tb.NewIterator(sstable.ReadOptions{DontFillCache: true})
		if positions {
			it = &positionIter{Iterator: it, pos: binary.AppendUvarint(nil, uint64(i))}
		}
		its = append(its, it)
	}
	m := iterator.NewMerging(r.d.icmp.Compare, its...)
	var err error
	for ok := m.First(); ok && err == nil; ok = m.Next() {
		err = fn(m.Key(), m.Value())
	}
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	return err
}

// positionIter is a table's iterator whose every value is the table's position in a merge.
type positionIter struct {
	iterator.Iterator
	pos []byte // uvarint
}

func (it *positionIter) Value() []byte { return it.pos }

// tablePosition decodes a positionIter's value.
func tablePosition(pos []byte) int {
	i, _ := binary.Uvarint(pos)
	return int(i)
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
