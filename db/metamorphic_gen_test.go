package db

// The generator of the metamorphic test's sequences of operations (metamorphic_ops_test.go).
// Keys come from the workload generator (internal/testutil/workload: a key space of a size drawn
// per sequence, a hot tenth of it, the empty key, binary keys); values are named by a number and
// a length (metaValue). The generator keeps track of the snapshots, iterators and transactions it
// opened, so that most operations are about one that is open, and of read-only opens, after
// which it draws mostly reads (and transactions) until a reopen.

import (
	"math/rand/v2"
	"slices"

	"github.com/stratadb/strata/internal/testutil/workload"
)

// metaWeights weighs the kinds of operations, by metaKind.
var metaWeights = [numMetaKinds]int{
	metaPut: 180, metaDel: 50, metaBatch: 70, metaSync: 10,
	metaGet: 100, metaScan: 10,
	metaSnap: 20, metaRelease: 15,
	metaIter: 40, metaIterClose: 30,
	// The moves of iterators share one weight, metaNext's (see iterMove).
	metaNext:    250,
	metaCompact: 20, metaFlush: 15,
	metaReopen: 5, metaCrash: 5, metaReadOnly: 3, metaCheckpoint: 4,
	metaTxn: 20, metaTxnGet: 40, metaTxnPut: 40, metaTxnDel: 10, metaCommit: 25, metaDiscard: 5,
	metaUpdate: 10, metaView: 5,
}

// metaValueSizes are the value sizes, by band: most small, some spanning blocks, a few larger
// than a 64 KiB memtable.
var metaValueSizes = []workload.Band{
	{Weight: 50}, {Weight: 450, Min: 1, Max: 32}, {Weight: 300, Min: 33, Max: 400},
	{Weight: 150, Min: 401, Max: 4 << 10}, {Weight: 45, Min: 4<<10 + 1, Max: 40 << 10},
	{Weight: 5, Min: 100 << 10, Max: 300 << 10},
}

type metaGen struct {
	rng      *rand.Rand
	keys     *workload.Gen
	cmp      Comparator
	ops      []metaOp
	lastID   int // the last snapshot, iterator or transaction number given out
	value    int // the last value number
	snaps    []int
	iters    []int
	iterTxn  map[int]int // the transaction each iterator reads through
	lastIter int         // the iterator moved last, and its direction
	forward  bool
	txns     []int
	readOnly bool
}

// genMetaOps draws n operations from seed, for keys ordered by cmp.
func genMetaOps(seed uint64, n int, cmp Comparator) []metaOp {
	keys := workload.New(seed, "meta", workload.Shape{})
	rng := keys.Rand()
	keys.Shape = workload.Shape{
		Keys: []int{20, 100, 500, 2000}[rng.IntN(4)], KeyFormat: "k%04d",
		EmptyKey: 60, BinaryKey: 25, Hot: 30,
	}
	g := &metaGen{rng: rng, keys: keys, cmp: cmp, iterTxn: map[int]int{}}
	total := 0
	for _, w := range metaWeights {
		total += w
	}
	for len(g.ops) < n {
		x := rng.IntN(total)
		k := metaKind(0)
		for ; x >= metaWeights[k]; k++ {
			x -= metaWeights[k]
		}
		if g.readOnly && rng.IntN(12) == 0 {
			g.endAll()
			g.add(metaOp{Kind: metaReopen})
			continue
		}
		g.draw(k)
	}
	return g.ops[:n]
}

func (g *metaGen) add(op metaOp) { g.ops = append(g.ops, op) }

func (g *metaGen) key() []byte { return []byte(g.keys.Key()) }

// seekKey draws a key to seek to: a key, or one just after or just before it.
func (g *metaGen) seekKey() []byte {
	k := g.key()
	switch g.rng.IntN(4) {
	case 0:
		k = append(k, 0)
	case 1:
		if len(k) > 0 {
			k = k[:len(k)-1]
		}
	}
	return k
}

// ordered returns a and b in the comparator's order.
func (g *metaGen) ordered(a, b []byte) ([]byte, []byte) {
	if a != nil && b != nil && g.cmp.Compare(a, b) > 0 {
		return b, a
	}
	return a, b
}

func (g *metaGen) newValue() metaValue {
	g.value++
	total := 0
	for _, b := range metaValueSizes {
		total += b.Weight
	}
	x := g.rng.IntN(total)
	for _, b := range metaValueSizes {
		if x -= b.Weight; x < 0 {
			return metaValue{ID: g.value, Len: b.Min + g.rng.IntN(b.Max-b.Min+1)}
		}
	}
	return metaValue{ID: g.value}
}

func (g *metaGen) pick(ids []int) int { return ids[g.rng.IntN(len(ids))] }

func (g *metaGen) newID() int { g.lastID++; return g.lastID }

// draw adds an operation of kind k, or nothing when k makes no sense now (a release with no
// snapshot open, most writes while read-only, ...).
func (g *metaGen) draw(k metaKind) {
	rng := g.rng
	isWrite := k <= metaSync || k == metaCompact || k == metaFlush || k == metaUpdate
	if g.readOnly && isWrite && rng.IntN(10) != 0 {
		return // mostly reads while read-only; the writes are refused
	}
	switch k {
	case metaPut:
		g.add(metaOp{Kind: k, Key: g.key(), Value: g.newValue(), Sync: rng.IntN(20) == 0})
	case metaDel:
		g.add(metaOp{Kind: k, Key: g.key(), Sync: rng.IntN(20) == 0})
	case metaBatch:
		op := metaOp{Kind: k, Sync: rng.IntN(20) == 0}
		for range 1 + rng.IntN(1+rng.IntN(16)) {
			if rng.IntN(4) == 0 {
				op.Entries = append(op.Entries, metaEntry{Del: true, Key: g.key()})
			} else {
				op.Entries = append(op.Entries, metaEntry{Key: g.key(), Value: g.newValue()})
			}
		}
		g.add(op)
	case metaSync, metaFlush:
		g.add(metaOp{Kind: k})
	case metaGet, metaScan:
		op := metaOp{Kind: k}
		if k == metaGet {
			op.Key = g.key()
		}
		if len(g.snaps) > 0 && rng.IntN(3) == 0 {
			op.Snap = g.pick(g.snaps)
		}
		g.add(op)
	case metaSnap:
		if len(g.snaps) < 4 {
			id := g.newID()
			g.snaps = append(g.snaps, id)
			g.add(metaOp{Kind: k, ID: id})
		}
	case metaRelease:
		if len(g.snaps) > 0 {
			id := g.pick(g.snaps)
			g.snaps = slices.DeleteFunc(g.snaps, func(x int) bool { return x == id })
			g.add(metaOp{Kind: k, ID: id})
		}
	case metaIter:
		g.newIter()
	case metaNext:
		g.iterMove()
	case metaIterClose:
		if len(g.iters) > 0 {
			g.closeIter(g.pick(g.iters))
		}
	case metaCompact:
		start, limit := g.ordered(g.key(), g.key())
		switch rng.IntN(6) {
		case 0:
			start = nil
		case 1:
			limit = nil
		case 2:
			start, limit = nil, nil
		}
		g.add(metaOp{Kind: k, Key: start, Limit: limit})
	case metaReopen, metaCrash, metaReadOnly:
		g.endAll()
		g.readOnly = k == metaReadOnly
		g.add(metaOp{Kind: k})
	case metaCheckpoint:
		g.add(metaOp{Kind: k, ReadOnly: rng.IntN(2) == 0})
	case metaUpdate:
		g.add(metaOp{Kind: k, Key: g.key(), Dest: g.key(), Value: g.newValue()})
	case metaView:
		g.add(metaOp{Kind: k, Key: g.key()})
	default:
		g.drawTxn(k)
	}
}

// drawTxn adds an operation on a transaction.
func (g *metaGen) drawTxn(k metaKind) {
	if k == metaTxn {
		if len(g.txns) < 2 {
			id := g.newID()
			g.txns = append(g.txns, id)
			g.add(metaOp{Kind: k, ID: id})
		}
		return
	}
	if len(g.txns) == 0 {
		return
	}
	op := metaOp{Kind: k, ID: g.pick(g.txns)}
	switch k {
	case metaTxnGet, metaTxnDel:
		op.Key = g.key()
	case metaTxnPut:
		op.Key, op.Value = g.key(), g.newValue()
	case metaCommit, metaDiscard:
		op.Sync = k == metaCommit && g.rng.IntN(10) == 0
		for _, it := range slices.Clone(g.iters) {
			if g.iterTxn[it] == op.ID {
				g.forgetIter(it) // the driver closes them first
			}
		}
		g.txns = slices.DeleteFunc(g.txns, func(x int) bool { return x == op.ID })
	}
	g.add(op)
}

func (g *metaGen) newIter() {
	if len(g.iters) >= 4 {
		return
	}
	rng := g.rng
	op := metaOp{Kind: metaIter, ID: g.newID()}
	switch {
	case len(g.txns) > 0 && rng.IntN(3) == 0:
		op.Txn = g.pick(g.txns)
	case len(g.snaps) > 0 && rng.IntN(4) == 0:
		op.Snap = g.pick(g.snaps)
	}
	if rng.IntN(2) == 0 {
		op.Lower = g.key()
	}
	if rng.IntN(2) == 0 {
		op.Upper = g.key()
	}
	op.Lower, op.Upper = g.ordered(op.Lower, op.Upper)
	g.iters = append(g.iters, op.ID)
	g.iterTxn[op.ID] = op.Txn
	g.add(op)
	first := metaOp{Kind: []metaKind{metaFirst, metaLast, metaSeekGE, metaSeekLT}[rng.IntN(4)], ID: op.ID}
	if first.Kind == metaSeekGE || first.Kind == metaSeekLT {
		first.Key = g.seekKey()
	}
	g.add(first)
	g.lastIter, g.forward = op.ID, first.Kind == metaFirst || first.Kind == metaSeekGE
}

// iterMove moves an iterator: mostly the last one moved, in runs of Next or Prev in one
// direction with switches now and then, sometimes repositioned.
func (g *metaGen) iterMove() {
	if len(g.iters) == 0 {
		return
	}
	rng := g.rng
	id := g.lastIter
	if !slices.Contains(g.iters, id) || rng.IntN(4) == 0 {
		id = g.pick(g.iters)
	}
	op := metaOp{ID: id}
	switch x := rng.IntN(100); {
	case x < 8:
		op.Kind, g.forward = metaFirst, true
	case x < 16:
		op.Kind, g.forward = metaLast, false
	case x < 26:
		op.Kind, op.Key, g.forward = metaSeekGE, g.seekKey(), true
	case x < 36:
		op.Kind, op.Key, g.forward = metaSeekLT, g.seekKey(), false
	default:
		if rng.IntN(5) == 0 {
			g.forward = !g.forward
		}
		op.Kind = metaPrev
		if g.forward {
			op.Kind = metaNext
		}
	}
	g.lastIter = id
	g.add(op)
}

func (g *metaGen) closeIter(id int) {
	g.forgetIter(id)
	g.add(metaOp{Kind: metaIterClose, ID: id})
}

func (g *metaGen) forgetIter(id int) {
	g.iters = slices.DeleteFunc(g.iters, func(x int) bool { return x == id })
	delete(g.iterTxn, id)
}

// endAll forgets what a close ends.
func (g *metaGen) endAll() {
	g.snaps, g.iters, g.txns = nil, nil, nil
	clear(g.iterTxn)
}
