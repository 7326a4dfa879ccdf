package workload

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/iterutil"
)

// Model is what a DB must hold: key -> value.
type Model map[string]string

// Apply applies ops to m in order.
func (m Model) Apply(ops ...Op) {
	for _, op := range ops {
		for _, e := range op.Entries {
			if e.Delete {
				delete(m, e.Key)
			} else {
				m[e.Key] = e.Value
			}
		}
	}
}

// Replay returns base (not modified; nil is empty) with ops applied.
func Replay(base Model, ops []Op) Model {
	m := make(Model, len(base))
	maps.Copy(m, base)
	m.Apply(ops...)
	return m
}

// Entries returns m's pairs in bytewise key order, restricted to [lower, upper) (nil =
// unbounded).
func (m Model) Entries(lower, upper []byte) []iterutil.Entry {
	out := make([]iterutil.Entry, 0, len(m))
	for k, v := range m {
		if lower != nil && k < string(lower) || upper != nil && k >= string(upper) {
			continue
		}
		out = append(out, iterutil.Entry{Key: []byte(k), Value: []byte(v)})
	}
	slices.SortFunc(out, func(a, b iterutil.Entry) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// Touched returns the keys ops write or delete.
func Touched(ops []Op) map[string]bool {
	keys := map[string]bool{}
	for _, op := range ops {
		for _, e := range op.Entries {
			keys[e.Key] = true
		}
	}
	return keys
}

// MatchPrefix returns a p in [lo, hi] such that base with the first p writes of ops applied is
// exactly got, or -1 (base nil: an empty DB). It applies one write at a time and keeps count of
// the keys where the model and got differ.
func MatchPrefix(base Model, ops []Op, got Model, lo, hi int) int {
	m := Replay(base, ops[:lo])
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
		touched := Touched(ops[p : p+1])
		for k := range touched {
			if !same(k) {
				diff--
			}
		}
		m.Apply(ops[p])
		for k := range touched {
			if !same(k) {
				diff++
			}
		}
	}
}

// CheckMarkers checks batch atomicity through the markers of g's batches (ops are g's first
// writes; batches written without a marker are passed over): the marker of every batch among the first p writes of ops is there, the marker of no
// later one is, and a batch whose marker is there has all of its entries that no later write
// (among the first p) overwrote. It returns how many batches it checked.
func (g *Gen) CheckMarkers(ops []Op, got Model, p int) (int, error) {
	lastWrite := map[string]int{}
	for i, op := range ops[:p] {
		for _, e := range op.Entries {
			lastWrite[e.Key] = i
		}
	}
	n := 0
	for i, op := range ops {
		if op.Kind != Batch || op.Entries[len(op.Entries)-1].Key != g.Marker(i) {
			continue
		}
		n++
		_, there := got[g.Marker(i)]
		if there != (i < p) {
			return n, fmt.Errorf("batch %d (of %d entries): marker there = %v, but the recovered DB holds the first %d writes", i, len(op.Entries)-1, there, p)
		}
		if !there {
			continue
		}
		final := map[string]Entry{}
		for _, e := range op.Entries {
			final[e.Key] = e
		}
		for k, e := range final {
			if lastWrite[k] != i {
				continue // a later write of the prefix changed it
			}
			v, ok := got[k]
			if e.Delete && ok || !e.Delete && (!ok || v != e.Value) {
				return n, fmt.Errorf("batch %d is partly applied: its marker is there but key %s is %s", i, Short(k), Short(v))
			}
		}
	}
	return n, nil
}

// Diff describes the differences between want and got, sorted: keys missing from got, keys
// with a wrong value, and keys got should not hold.
func Diff(want, got Model) []string {
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+Short(k))
		} else if g != v {
			diffs = append(diffs, "wrong value at "+Short(k)+": got "+Short(g)+", want "+Short(v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "unexpected "+Short(k)+"="+Short(v))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// RequireEqual fails t, with the first differences, unless got equals want. The format and
// args say what is compared.
func RequireEqual(t testing.TB, want, got Model, format string, args ...any) {
	t.Helper()
	if maps.Equal(want, got) {
		return
	}
	diffs := Diff(want, got)
	require.Failf(t, "contents differ", "%s: %d differences, first: %q", fmt.Sprintf(format, args...), len(diffs), diffs[:min(len(diffs), 8)])
}

// Short quotes s, cut to a readable length.
func Short(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "...(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}
