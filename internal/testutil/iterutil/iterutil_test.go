package iterutil

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/iterator"
)

var _ iterator.Iterator = (*Slice)(nil)

func entries(kvs ...string) []Entry {
	var out []Entry
	for i := 0; i+1 < len(kvs); i += 2 {
		out = append(out, Entry{Key: []byte(kvs[i]), Value: []byte(kvs[i+1])})
	}
	return out
}

func TestSlice(t *testing.T) {
	s := NewSlice(bytes.Compare, entries("a", "1", "b", "2", "b", "2'", "d", "4"))
	require.True(t, s.First())
	k := s.Key()
	require.Equal(t, "a", string(k))
	require.True(t, s.Next())
	require.Equal(t, "\xa5", string(k), "the previous key is overwritten")
	require.Equal(t, "b", string(s.Key()))
	require.Equal(t, "2", string(s.Value()))
	require.True(t, s.SeekGE([]byte("b")))
	require.Equal(t, "2", string(s.Value()), "SeekGE lands on the first of equal keys")
	require.True(t, s.SeekLT([]byte("c")))
	require.Equal(t, "2'", string(s.Value()), "SeekLT lands on the last of them")
	require.False(t, s.SeekGE([]byte("e")))
	require.False(t, s.SeekLT([]byte("a")))
	require.True(t, s.Last())
	require.False(t, s.Next())
	require.NoError(t, s.Error())
	require.Panics(t, func() { s.Key() })
	require.Panics(t, func() { s.Next() })
	require.NoError(t, s.Close())
	require.True(t, s.Closed())
	require.Panics(t, func() { s.First() })

	require.Panics(t, func() { NewSlice(bytes.Compare, entries("b", "", "a", "")) })
}

func TestSliceFailAt(t *testing.T) {
	boom := errors.New("boom")
	s := NewSlice(bytes.Compare, entries("a", "", "b", "", "c", "")).FailAt(1, boom)
	require.True(t, s.First())
	require.False(t, s.Next())
	require.Same(t, boom, s.Error())
	require.True(t, s.Last(), "a positioning call clears the error")
	require.NoError(t, s.Error())
	require.False(t, s.Prev())
	require.Same(t, boom, s.Error())
	require.False(t, s.SeekGE([]byte("b")))
	require.Same(t, boom, s.Error())
	require.Same(t, boom, s.Close())
}

func TestSliceAgainstModel(t *testing.T) {
	for _, n := range []int{0, 1, 2, 50} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 9))
			var es []Entry
			for i := 0; i < n; i++ {
				es = append(es, Entry{Key: []byte{byte(2 * i)}, Value: []byte(fmt.Sprint(i))})
			}
			m := &Model{Cmp: bytes.Compare, Entries: es}
			CheckAgainstModel(t, NewSlice(bytes.Compare, es), m, rng, 2000)
		})
	}
}

// recorder is a testing.TB whose Fatal records the message and ends the goroutine, so a test
// can check that CheckAgainstModel notices a wrong iterator.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// skipping drops one key from a correct iterator's output when stepping forward.
type skipping struct {
	*Slice
	skip []byte
}

func (s *skipping) Next() bool {
	if !s.Slice.Next() {
		return false
	}
	if bytes.Equal(s.Key(), s.skip) {
		return s.Slice.Next()
	}
	return true
}

func TestCheckerCatchesBugs(t *testing.T) {
	es := entries("a", "1", "b", "2", "c", "3", "d", "4")
	m := &Model{Cmp: bytes.Compare, Entries: es}
	run := func(it iterator.Iterator) string {
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			CheckAgainstModel(r, it, m, rand.New(rand.NewPCG(1, 2)), 5000)
		}()
		<-done
		return r.msg
	}
	require.Empty(t, run(NewSlice(bytes.Compare, es)))

	msg := run(&skipping{Slice: NewSlice(bytes.Compare, es), skip: []byte("c")})
	require.Contains(t, msg, `model at "c"`)
	require.Contains(t, msg, "the last")

	wrongValue := entries("a", "1", "b", "2", "c", "x", "d", "4")
	require.Contains(t, run(NewSlice(bytes.Compare, wrongValue)), `= "x"`)

	failing := NewSlice(bytes.Compare, es).FailAt(3, errors.New("boom"))
	require.True(t, strings.Contains(run(failing), "unexpected error boom"))
}
