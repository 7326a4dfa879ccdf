package db

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// TestTxnModel runs random histories of interleaved transactions and plain writes against a
// model that applies the commits in commit order, and requires:
//
//  1. every read a transaction makes (Get, and full scans of a bounded range) returns the model
//     as of the transaction's start with the transaction's own writes laid over it;
//  2. Commit fails with ErrConflict exactly when a key the transaction read from the DB, or a
//     key in a range it scanned, was written (by a plain write or another commit) after it
//     began; a failed commit writes nothing;
//  3. the DB always equals the model: the committed transactions and plain writes, one after the
//     other in commit order, which is therefore a serial order of them all.
//
// Some seeds flush the memtable now and then and bound the history to a few hundred bytes, so
// commits also take the check against the tree.
func TestTxnModel(t *testing.T) {
	forSeeds(t, sized(4, 4, 40), func(t *testing.T, seed uint64) {
		rng := newRand(seed)
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		defer d.Close()
		stress := rng.IntN(2) == 0
		if stress {
			d.mu.Lock()
			d.mu.history.limit = 300
			d.mu.Unlock()
		}
		m := &txnModel{t: t, rng: rng, d: d, state: kv{}, written: map[string]int{}}
		for step := 0; step < sized(5000, 5000, 20000); step++ {
			m.step()
			if stress && rng.IntN(200) == 0 {
				require.NoError(t, d.flushMemTable())
			}
		}
		for _, tx := range m.open {
			tx.tx.Discard()
		}
		requireSame(t, m.state, dump(t, d, nil), "the DB against the model")
		t.Logf("%d commits, %d conflicts, %d plain writes", m.commits, m.conflicts, m.plain)
	})
}

// txnModel is the state of one TestTxnModel history.
type txnModel struct {
	t       *testing.T
	rng     *rand.Rand
	d       *DB
	state   kv             // the committed state
	clock   int            // counts writes to the DB: plain ones and commits
	written map[string]int // each key's last write, by clock
	open    []*modelTxn

	commits, conflicts, plain int
}

// modelTxn is an open transaction and what the model knows of it.
type modelTxn struct {
	tx     *Transaction
	begin  int // the clock when it began
	snap   kv  // the committed state when it began
	writes map[string]*string
	points map[string]bool // keys it read from the DB
	ranges [][2]string     // [lo, hi) it scanned
}

func modelKey(rng *rand.Rand) string { return fmt.Sprintf("k%02d", rng.IntN(24)) }

// view is what tx sees: its snapshot with its writes over it.
func (x *modelTxn) view() kv {
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

func (m *txnModel) step() {
	t, rng := m.t, m.rng
	var x *modelTxn
	if len(m.open) > 0 {
		x = m.open[rng.IntN(len(m.open))]
	}
	switch op := rng.IntN(20); {
	case op < 2 || x == nil:
		if len(m.open) < 4 {
			m.open = append(m.open, &modelTxn{tx: m.d.NewTransaction(), begin: m.clock, snap: maps.Clone(m.state),
				writes: map[string]*string{}, points: map[string]bool{}})
		}
	case op < 7:
		k := modelKey(rng)
		got, ok := txnGet(t, x.tx, k)
		want, wok := x.view()[k]
		require.Equal(t, wok, ok, "Get(%s)", k)
		require.Equal(t, want, got, "Get(%s)", k)
		if _, own := x.writes[k]; !own {
			x.points[k] = true
		}
	case op < 9:
		lo, hi := modelKey(rng), modelKey(rng)
		if hi < lo {
			lo, hi = hi, lo
		}
		got := txnScan(t, x.tx, lo, hi)
		want := kv{}
		for k, v := range x.view() {
			if k >= lo && k < hi {
				want[k] = v
			}
		}
		require.Equal(t, want, got, "scan [%s, %s)", lo, hi)
		x.ranges = append(x.ranges, [2]string{lo, hi})
	case op < 13:
		k := modelKey(rng)
		if rng.IntN(4) == 0 {
			require.NoError(t, x.tx.Delete([]byte(k)))
			x.writes[k] = nil
		} else {
			v := fmt.Sprintf("t%d", rng.IntN(1000))
			require.NoError(t, x.tx.Put([]byte(k), []byte(v)))
			x.writes[k] = &v
		}
	case op < 16:
		m.commit(x)
	case op < 17:
		x.tx.Discard()
		m.close(x)
	default:
		k := modelKey(rng)
		m.plain++
		if rng.IntN(4) == 0 {
			require.NoError(t, m.d.Delete([]byte(k), nil))
			delete(m.state, k)
		} else {
			v := fmt.Sprintf("p%d", rng.IntN(1000))
			require.NoError(t, m.d.Put([]byte(k), []byte(v), nil))
			m.state[k] = v
		}
		m.clock++
		m.written[k] = m.clock
	}
}

// commit commits x and checks the outcome against the model.
func (m *txnModel) commit(x *modelTxn) {
	conflict := ""
	if len(x.writes) > 0 {
		for k, at := range m.written {
			if at <= x.begin {
				continue
			}
			if x.points[k] {
				conflict = k
			}
			for _, r := range x.ranges {
				if k >= r[0] && k < r[1] {
					conflict = k
				}
			}
		}
	}
	err := x.tx.Commit(nil)
	m.close(x)
	if conflict != "" {
		require.ErrorIs(m.t, err, ErrConflict, "%s was written after the transaction began", conflict)
		m.conflicts++
		return
	}
	require.NoError(m.t, err, "nothing the transaction read was written after it began")
	if len(x.writes) == 0 {
		return
	}
	m.commits++
	m.clock++
	for k, w := range x.writes {
		if w == nil {
			delete(m.state, k)
		} else {
			m.state[k] = *w
		}
		m.written[k] = m.clock
	}
}

func (m *txnModel) close(x *modelTxn) {
	for i, y := range m.open {
		if y == x {
			m.open = append(m.open[:i], m.open[i+1:]...)
			return
		}
	}
}
