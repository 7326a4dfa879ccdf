package iterutil

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stratadb/strata/internal/iterator"
)

// Model is what an iterator under test must yield: Entries in order, under Cmp.
type Model struct {
	Cmp     func(a, b []byte) int
	Entries []Entry // sorted by Cmp; equal keys are allowed and come back in slice order

	// SeekKey returns a target for SeekGE and SeekLT. Nil means DefaultSeekKey over Entries.
	SeekKey func(rng *rand.Rand) []byte
	// Format prints a key in failure messages. Nil means %q.
	Format func(key []byte) string
}

// DefaultSeekKey returns a seek target near the model's keys: an existing key, or one just
// after or before it, or a short random key, which may fall before, between or after them all.
func (m *Model) DefaultSeekKey(rng *rand.Rand) []byte {
	if len(m.Entries) == 0 || rng.IntN(5) == 0 {
		k := make([]byte, rng.IntN(3))
		for i := range k {
			k[i] = byte(rng.UintN(256))
		}
		return k
	}
	k := bytes.Clone(m.Entries[rng.IntN(len(m.Entries))].Key)
	switch rng.IntN(4) {
	case 0:
		k = append(k, 0) // the smallest key after k
	case 1:
		if len(k) > 0 {
			k = k[:len(k)-1]
		}
	case 2:
		if len(k) > 0 {
			k[len(k)-1]++
		}
	}
	return k
}

func (m *Model) format(k []byte) string {
	if m.Format != nil {
		return m.Format(k)
	}
	return fmt.Sprintf("%q", k)
}

// seekIndex returns the index of the first entry with a key >= k.
func (m *Model) seekIndex(k []byte) int {
	lo, hi := 0, len(m.Entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if m.Cmp(m.Entries[mid].Key, k) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

type modelOp struct {
	name string
	key  []byte
}

// CheckAgainstModel drives it through steps random calls (First, Last, SeekGE, SeekLT, and
// while valid Next and Prev, in runs with frequent direction switches) and fails t at the first
// step where it disagrees with m: validity, key, value, or a non-nil Error. The failure shows the
// calls that led there. it must be fresh or positioned anywhere; it is not closed.
//
// A test prints its seed and builds rng from it, so a failure can be replayed.
func CheckAgainstModel(t testing.TB, it iterator.Iterator, m *Model, rng *rand.Rand, steps int) {
	t.Helper()
	seekKey := m.SeekKey
	if seekKey == nil {
		seekKey = m.DefaultSeekKey
	}
	const keep = 30
	var history []modelOp
	pos, valid := -1, false // the model's position
	forward := true
	for step := 0; step < steps; step++ {
		var op modelOp
		r := rng.IntN(20)
		if r >= 10 && !valid {
			r = rng.IntN(10)
		}
		var got bool
		switch {
		case r < 2:
			op.name = "First"
			got, pos = it.First(), 0
			forward = true
		case r < 4:
			op.name = "Last"
			got, pos = it.Last(), len(m.Entries)-1
			forward = false
		case r < 7:
			op.name, op.key = "SeekGE", seekKey(rng)
			got, pos = it.SeekGE(op.key), m.seekIndex(op.key)
			forward = true
		case r < 10:
			op.name, op.key = "SeekLT", seekKey(rng)
			got, pos = it.SeekLT(op.key), m.seekIndex(op.key)-1
			forward = false
		default:
			if rng.IntN(10) < 3 {
				forward = !forward
			}
			if forward {
				op.name = "Next"
				got, pos = it.Next(), pos+1
			} else {
				op.name = "Prev"
				got, pos = it.Prev(), pos-1
			}
		}
		valid = pos >= 0 && pos < len(m.Entries)
		if len(history) == keep {
			history = history[1:]
		}
		history = append(history, op)

		fail := func(format string, args ...any) {
			t.Helper()
			var sb strings.Builder
			fmt.Fprintf(&sb, "step %d: ", step)
			fmt.Fprintf(&sb, format, args...)
			fmt.Fprintf(&sb, "\nthe last %d calls:", len(history))
			for _, h := range history {
				sb.WriteString("\n  " + h.name)
				if h.key != nil {
					sb.WriteString("(" + m.format(h.key) + ")")
				}
			}
			t.Fatal(sb.String())
		}
		if got != it.Valid() {
			fail("%s returned %v but Valid is %v", op.name, got, it.Valid())
		}
		if err := it.Error(); err != nil {
			fail("%s: unexpected error %v", op.name, err)
		}
		if got != valid {
			want := "the end"
			if valid {
				want = m.format(m.Entries[pos].Key)
			}
			at := "the end"
			if got {
				at = m.format(it.Key())
			}
			fail("%s: iterator at %s, model at %s", op.name, at, want)
		}
		if !valid {
			continue
		}
		if e := m.Entries[pos]; !bytes.Equal(it.Key(), e.Key) || !bytes.Equal(it.Value(), e.Value) {
			fail("%s: iterator at %s = %q, model at %s = %q", op.name,
				m.format(it.Key()), it.Value(), m.format(e.Key), e.Value)
		}
	}
}
