package db

// The workload of the reliability tests (issue 8): the process-kill test, the power-loss test
// and the fault-injection test all run it. It is an endless, seeded stream of writes:
//
//   - puts (45%) with values of 0 B to 64 KiB: one in twenty empty, most under 200 B, one in
//     ten between 4 KiB and 64 KiB;
//   - deletes (20%), of keys that may or may not be there;
//   - batches (35%) of 1 to 100 puts and deletes, skewed small, each ending with a put of its
//     own marker key ("~m/<tag>/<i>"), which nothing else writes, so a batch is applied exactly
//     when its marker is there;
//   - one write in ten synced.
//
// The write numbered i depends only on the seed and the writes before it, so a parent process
// and its child, or a run and its replay, generate the same stream. Values name their write
// ("<tag>.<i>.<j>:..."), so a wrong value shows where it came from.

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// relOpts are the options of the reliability workloads: the smallest write buffer (64 KiB) and
// table size (1 MiB), so that a few hundred writes rotate logs, flush and compact.
func relOpts() *Options {
	return &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockSize: 1 << 10}
}

// relKeys is the size of the key space: small enough that keys are overwritten and deleted
// often, large enough that tables cover different ranges.
const relKeys = 1000

// relGen generates the reliability workload.
type relGen struct {
	rng *rand.Rand
	tag string
	i   int
	// maxValue and maxBatch, when not zero, cap the values' sizes and the batches' entries.
	maxValue, maxBatch int
}

func newRelGen(seed uint64, tag string) *relGen {
	return &relGen{rng: newRand(seed), tag: tag}
}

// relMarkerPrefix starts every batch marker key; it sorts after every ordinary key.
const relMarkerPrefix = "~m/"

func (g *relGen) key() string {
	if g.rng.IntN(100) == 0 {
		return "" // the empty key is a key too
	}
	return fmt.Sprintf("k%04d", g.rng.IntN(relKeys))
}

// value returns the value of the j-th entry of write i.
func (g *relGen) value(j int) string {
	var size int
	switch x := g.rng.IntN(20); {
	case x == 0:
		return ""
	case x < 12:
		size = g.rng.IntN(200)
	case x < 18:
		size = 200 + g.rng.IntN(4<<10-200)
	default:
		size = 4<<10 + g.rng.IntN(60<<10+1)
	}
	if g.maxValue > 0 {
		size = min(size, g.maxValue)
	}
	head := fmt.Sprintf("%s.%d.%d:", g.tag, g.i, j)
	if size <= len(head) {
		return head[:size]
	}
	// Half compressible (one letter repeated), half not, so tables are neither tiny nor all
	// incompressible.
	if g.rng.IntN(2) == 0 {
		return head + strings.Repeat(string(rune('a'+g.rng.IntN(26))), size-len(head))
	}
	return head + string(randValue(g.rng, size-len(head)))
}

// next returns the next write of the stream.
func (g *relGen) next() crashOp {
	op := crashOp{sync: g.rng.IntN(10) == 0}
	switch x := g.rng.IntN(20); {
	case x < 9:
		op.kind, op.ents = "put", []crashEnt{{key: g.key(), value: g.value(0)}}
	case x < 13:
		op.kind, op.ents = "delete", []crashEnt{{key: g.key(), del: true}}
	default:
		op.kind = "batch"
		n := 1 + g.rng.IntN(1+g.rng.IntN(99)) // 1..99 entries, most of them short
		if g.maxBatch > 0 {
			n = min(n, g.maxBatch)
		}
		for j := range n {
			if g.rng.IntN(4) == 0 {
				op.ents = append(op.ents, crashEnt{key: g.key(), del: true})
			} else {
				op.ents = append(op.ents, crashEnt{key: g.key(), value: g.value(j)})
			}
		}
		op.ents = append(op.ents, crashEnt{key: g.marker(g.i), value: fmt.Sprintf("%d entries", n)})
	}
	g.i++
	return op
}

func (g *relGen) marker(i int) string { return fmt.Sprintf("%s%s/%06d", relMarkerPrefix, g.tag, i) }

// take returns the next n writes.
func (g *relGen) take(n int) []crashOp {
	ops := make([]crashOp, n)
	for i := range ops {
		ops[i] = g.next()
	}
	return ops
}

// relModel returns base (not modified) with ops applied.
func relModel(base kv, ops []crashOp) kv {
	m := make(kv, len(base))
	for k, v := range base {
		m[k] = v
	}
	for _, op := range ops {
		op.applyModel(m)
	}
	return m
}

// relMatchPrefix returns a p in [lo, hi] such that base with the first p writes of ops applied
// is exactly got, or -1 (base nil: an empty DB). It applies one write at a time and keeps count
// of the keys where the model and got differ.
func relMatchPrefix(base kv, ops []crashOp, got kv, lo, hi int) int {
	m := relModel(base, ops[:lo])
	same := func(k string) bool {
		mv, mok := m[k]
		gv, gok := got[k]
		return mok == gok && mv == gv
	}
	diff := 0
	for k := range m {
		if !same(k) {
			diff++
		}
	}
	for k := range got {
		if _, ok := m[k]; !ok {
			diff++
		}
	}
	for p := lo; ; p++ {
		if diff == 0 {
			return p
		}
		if p >= hi || p >= len(ops) {
			return -1
		}
		touched := map[string]bool{}
		for _, e := range ops[p].ents {
			touched[e.key] = true
		}
		for k := range touched {
			if !same(k) {
				diff--
			}
		}
		ops[p].applyModel(m)
		for k := range touched {
			if !same(k) {
				diff++
			}
		}
	}
}

// relCheckMarkers checks batch atomicity directly: the marker of every batch among the first p
// writes of ops is there, the marker of no later one is, and a batch whose marker is there has
// all of its entries that no later write (among the first p) overwrote. It returns how many
// batches it checked.
func relCheckMarkers(g *relGen, ops []crashOp, got kv, p int) (int, error) {
	lastWrite := map[string]int{}
	for i, op := range ops[:p] {
		for _, e := range op.ents {
			lastWrite[e.key] = i
		}
	}
	n := 0
	for i, op := range ops {
		if op.kind != "batch" {
			continue
		}
		n++
		_, there := got[g.marker(i)]
		if there != (i < p) {
			return n, fmt.Errorf("batch %d (of %d entries): marker there = %v, but the recovered DB holds the first %d writes", i, len(op.ents)-1, there, p)
		}
		if !there {
			continue
		}
		final := map[string]crashEnt{}
		for _, e := range op.ents {
			final[e.key] = e
		}
		for k, e := range final {
			if lastWrite[k] != i {
				continue // a later write of the prefix changed it
			}
			v, ok := got[k]
			if e.del && ok || !e.del && (!ok || v != e.value) {
				return n, fmt.Errorf("batch %d is partly applied: its marker is there but key %s is %s", i, short(k), short(v))
			}
		}
	}
	return n, nil
}
