package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
)

// TestValue: a value names its key and version, survives the check whatever its size, and any
// change of it is caught.
func TestValue(t *testing.T) {
	require.Equal(t, "k00000042", keyString(42))
	i, ok := parseKey([]byte("k00000042"), 100)
	require.True(t, ok)
	require.Equal(t, 42, i)
	for _, k := range []string{"k00000042", "k0000004", "k000000420", "x00000042", "k0000004x", ""} {
		_, ok := parseKey([]byte(k), 42)
		require.False(t, ok, k)
	}
	long := 0
	for _, size := range []int{0, 1, 40, 100, 5000} {
		for v := uint64(1); v < 200; v++ {
			val := makeValue(7, v, size)
			require.True(t, strings.HasPrefix(string(val), fmt.Sprintf("k00000007@%d/%d:", v, len(val))), "%q", val)
			require.Equal(t, val, makeValue(7, v, size), "a function of the key and the version")
			got, err := checkValue(7, val)
			require.NoError(t, err)
			require.Equal(t, v, got)
			if len(val) > 4*size && size > 0 {
				long++
			}
			_, err = checkValue(8, val)
			require.ErrorContains(t, err, `does not start with "k00000008"@`)
			bad := bytes.Clone(val)
			bad[len(bad)-1] ^= 1
			if len(bad) > len(fmt.Sprintf("k00000007@%d/%d:", v, len(val))) {
				_, err = checkValue(7, bad)
				require.ErrorContains(t, err, "differs from version")
			}
			_, err = checkValue(7, val[:len(val)-1])
			require.Error(t, err, "cut")
		}
	}
	require.Positive(t, long, "some values are long")
}

// TestAllowed: what a read may find between two loads of a key's state.
func TestAllowed(t *testing.T) {
	put := func(v uint64) found { return found{present: true, version: v} }
	absent := found{}
	s5 := makeState(5, true)
	d5 := makeState(5, false)
	for _, tc := range []struct {
		s0, s1 state
		f      found
		want   bool
	}{
		{s5, s5, put(5), true},
		{s5, s5, put(4), false},
		{s5, s5, put(6), false},
		{s5, s5, absent, false},
		{d5, d5, absent, true},
		{d5, d5, put(5), false},
		{makeState(0, false), makeState(0, false), absent, true},
		// A write in flight: the old state or the new one.
		{s5.withPending(true), s5.withPending(true), put(6), true},
		{s5.withPending(true), s5.withPending(true), put(5), true},
		{s5.withPending(true), s5.withPending(true), absent, false},
		{s5.withPending(false), s5.withPending(false), absent, true},
		{s5.withPending(false), s5.withPending(false), put(6), false},
		// Another thread's key: anything the window passed through.
		{s5, makeState(7, true), put(6), true},
		{s5, makeState(7, true), absent, true}, // version 6 may have been a delete
		{s5, makeState(6, true), absent, false},
		{s5, makeState(6, false), absent, true},
		{s5, makeState(6, false), put(6), false},
		{s5, makeState(6, true).withPending(true), put(7), true},
		{s5, makeState(6, true), put(7), false},
		{s5, makeState(6, true), put(4), false},
	} {
		require.Equal(t, tc.want, allowed(tc.s0, tc.s1, tc.f), "s0 %s, s1 %s, found %s", tc.s0, tc.s1, describeFound(tc.f))
	}
}

func TestParseKillInterval(t *testing.T) {
	lo, hi, err := parseKillInterval("100ms-2s")
	require.NoError(t, err)
	require.Equal(t, []time.Duration{100 * time.Millisecond, 2 * time.Second}, []time.Duration{lo, hi})
	lo, hi, err = parseKillInterval("1s")
	require.NoError(t, err)
	require.Equal(t, []time.Duration{100 * time.Millisecond, time.Second}, []time.Duration{lo, hi})
	for _, s := range []string{"", "x", "1s-", "-1s", "2s-1s", "0s"} {
		_, _, err := parseKillInterval(s)
		require.Error(t, err, s)
	}
}

// TestArgs: the command a failure prints gives the same configuration again.
func TestArgs(t *testing.T) {
	for _, args := range [][]string{
		{"--db", "d", "--seed=3"},
		{"--db", "d", "--threads=3", "--ops=500", "--keys=900", "--value_size=7", "--sync_ratio=0.25", "--seed=9"},
		{"--db", "d", "--kill", "--kill_interval=1s-3s", "--duration=10s", "--write_buffer_size=0", "--compression=false", "--paranoid_checks", "--bloom_bits=-1", "--seed=1"},
		{"--db", "d", "--ops=10", "--duration=1m0s", "--seed=2"},
	} {
		c, err := parseFlags(args, nil)
		require.NoError(t, err, args)
		again, err := parseFlags(c.args("d"), nil)
		require.NoError(t, err, c.args("d"))
		c.durationSet, again.durationSet = false, false
		require.Equal(t, c, again, "%v gives %v", args, c.args("d"))
	}
}

// TestExpectedFile: the file keeps every state and its status; a changed byte is caught.
func TestExpectedFile(t *testing.T) {
	dir := t.TempDir()
	e := newExpected(50)
	for i := range 50 {
		e.set(i, makeState(uint64(i*3), i%2 == 0))
	}
	e.set(3, e.get(3).withPending(true)) // dropped: the caller settles first
	require.NoError(t, saveExpected(dir, e, statusRunning))
	got, status, err := loadExpected(dir)
	require.NoError(t, err)
	require.Equal(t, uint32(statusRunning), status)
	for i := range 50 {
		require.Equal(t, e.get(i).settled(), got.get(i), "key %d", i)
	}
	_, _, err = loadExpected(t.TempDir())
	require.ErrorIs(t, err, errNoExpected)
}

// recoveryRunner returns a runner over a DB in a new directory holding version 1 of keys 0..9,
// with the matching expected state, and the messages of its failures.
func recoveryRunner(t *testing.T) (*runner, *expected, *[]string) {
	dir := filepath.Join(t.TempDir(), "db")
	c, err := parseFlags([]string{"--db", dir, "--keys=10", "--threads=2", "--seed=5"}, nil)
	require.NoError(t, err)
	d, err := db.Open(dir, c.options())
	require.NoError(t, err)
	exp := newExpected(10)
	for i := range 10 {
		require.NoError(t, d.Put(appendKey(nil, i), makeValue(i, 1, c.valueSize), nil))
		exp.set(i, makeState(1, true))
	}
	require.NoError(t, d.Close())
	var msgs []string
	r := &runner{c: c, out: &output{w: &bytes.Buffer{}}}
	r.fails.print = func(kind, msg string) { msgs = append(msgs, kind+": "+msg) }
	return r, exp, &msgs
}

// write writes version v of key i (a delete when !put) behind the runner's back, as a child
// would have.
func write(t *testing.T, r *runner, i int, v uint64, put bool) {
	d, err := db.Open(r.c.db, r.c.options())
	require.NoError(t, err)
	if put {
		require.NoError(t, d.Put(appendKey(nil, i), makeValue(i, v, r.c.valueSize), nil))
	} else {
		require.NoError(t, d.Delete(appendKey(nil, i), nil))
	}
	require.NoError(t, d.Close())
}

// TestRecoverAfter: the parent's check after a kill, fed a child's reports: acknowledged writes
// must be there; a write in flight may be there or not, but whole.
func TestRecoverAfter(t *testing.T) {
	report := func(r *runner, exp *expected, ch *child, lines ...string) {
		ks := &killState{cur: make([]int64, len(statNames))}
		for _, l := range lines {
			r.handle(ch, l, exp, ks)
		}
	}
	newChild := func() *child { return &child{it: 2, seed: 77, killed: true, opened: true, pending: map[int][]entry{}} }

	t.Run("clean", func(t *testing.T) {
		r, exp, msgs := recoveryRunner(t)
		write(t, r, 4, 2, true)
		write(t, r, 6, 2, true)
		write(t, r, 7, 2, false)
		ch := newChild()
		// Thread 0's put of key 4 acknowledged; thread 1's batch (6 put, 7 deleted) in flight and
		// applied; thread 0's next write, of key 2, in flight and lost.
		report(r, exp, ch, "open", "p 0 4.2+", "a 0", "p 1 6.2+ 7.2-", "p 0 2.2+", "s 1 2 3 4 5 6 7 8 9")
		r.recoverAfter(ch, exp, 1)
		require.Empty(t, *msgs)
		require.Equal(t, killStats{recoveries: 1, inFlight: 2, applied: 1}, r.ks)
		require.Equal(t, makeState(2, true), exp.get(4))
		require.Equal(t, makeState(2, true), exp.get(6))
		require.Equal(t, makeState(2, false), exp.get(7))
		require.Equal(t, makeState(1, true), exp.get(2), "the lost write is forgotten")
	})
	t.Run("lost", func(t *testing.T) {
		r, exp, msgs := recoveryRunner(t)
		ch := newChild()
		report(r, exp, ch, "open", "p 0 4.2+", "a 0")
		r.recoverAfter(ch, exp, 1)
		require.Len(t, *msgs, 1)
		require.Regexp(t, `^violation: after kill 0 \(child 2 \(seed 77\) killed 0s after its Open; the DB reopened\): key k00000004: expected version 2 "k00000004@2/.*, found version 1 "k00000004@1/`, (*msgs)[0])
	})
	t.Run("torn", func(t *testing.T) {
		r, exp, msgs := recoveryRunner(t)
		write(t, r, 5, 2, true)
		ch := newChild()
		report(r, exp, ch, "open", "p 1 5.2+ 3.2+")
		r.recoverAfter(ch, exp, 1)
		require.Len(t, *msgs, 1)
		require.Contains(t, (*msgs)[0], "a write of 2 keys in flight at the kill was torn: 1 of its keys hold it, 1 do not: key k00000005 holds version 2")
	})
	t.Run("bad report", func(t *testing.T) {
		r, exp, msgs := recoveryRunner(t)
		report(r, exp, newChild(), "p 0 4.3+", "a 1", "s 1", "zzz", "v key k1: bad", "e Get: io")
		require.Equal(t, []string{
			`error: child 2 (seed 77) sent "p 0 4.3+": the write does not follow from the expected state`,
			`error: child 2 (seed 77) sent "a 1": no write of that thread is in flight`,
			`error: child 2 (seed 77) sent "s 1": wrong number of counters`,
			`error: child 2 (seed 77) sent "zzz": unknown report`,
			`violation: child 2 (seed 77): key k1: bad`,
			`error: child 2 (seed 77): Get: io`,
		}, *msgs)
	})
}

// TestPipeLines: the lines a child writes on its pipe parse back, each in one piece.
func TestPipeLines(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	rep := &reporter{f: pw}
	es := []entry{{i: 3, v: 9, put: true}, {i: 12, v: 1}}
	rep.intent(4, es)
	rep.ack(4)
	rep.withdraw(1)
	rep.stats([]int64{1, 2, 3})
	rep.violation("two\nlines")
	rep.err(strings.Repeat("x", 5000))
	var nilRep *reporter
	nilRep.ack(1) // no --kill: nothing
	require.NoError(t, pw.Close())
	b, err := io.ReadAll(pr)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Equal(t, []string{"p 4 3.9+ 12.1-", "a 4", "x 1", "s 1 2 3", "v two lines", "e " + strings.Repeat("x", pipeLineMax) + "..."}, lines)
	got, err := parseIntent(strings.Fields(lines[0])[2:])
	require.NoError(t, err)
	require.Equal(t, es, got)
	for _, bad := range []string{"3.9", "3+", "x.1+", "3.y-", "3.-1+"} {
		_, err := parseIntent([]string{bad})
		require.Error(t, err, bad)
	}
}
