package benchgen

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

type recorder struct{ keys, values []string }

func (r *recorder) Put(k, v []byte) {
	r.keys = append(r.keys, string(k))
	r.values = append(r.values, string(v))
}

// TestWritesPut: sequential writes put keys first..first+n-1, random ones the keys the RNG
// draws, in order, each with the generator's next value; Put counts their bytes.
func TestWritesPut(t *testing.T) {
	for _, random := range []bool{false, true} {
		w := Writes{RNG: NewRNG(301), Gen: NewValueGenerator(0.5), Keys: 1000, ValueSize: 100, Random: random}
		rng, gen := NewRNG(301), NewValueGenerator(0.5)
		var b recorder
		key, bytes := w.Put(&b, nil, 40, 3)
		key, more := w.Put(&b, key, 43, 2)
		require.Len(t, b.keys, 5)
		for i := range b.keys {
			k := 40 + i
			if random {
				k = rng.Uniform(1000)
			}
			require.Equal(t, fmt.Sprintf("%016d", k), b.keys[i], "random %v, entry %d", random, i)
			require.Equal(t, string(gen.Generate(100)), b.values[i])
		}
		require.Equal(t, int64(3*(16+100)), bytes)
		require.Equal(t, int64(2*(16+100)), more)
		require.Equal(t, b.keys[4], string(key))
	}
}

// TestTogether: every fn runs, none starts before all goroutines exist, and the errors come
// back joined.
func TestTogether(t *testing.T) {
	var mu sync.Mutex
	ran := map[int]bool{}
	err := Together(8, func(i int) error {
		mu.Lock()
		ran[i] = true
		mu.Unlock()
		if i%3 == 0 {
			return fmt.Errorf("thread %d", i)
		}
		return nil
	})
	require.Len(t, ran, 8)
	require.EqualError(t, err, "thread 0\nthread 3\nthread 6")
	require.NoError(t, Together(2, func(int) error { return nil }))
}

// TestEntries: Entries keeps copies of what Writes puts in it, the same keys and values a batch
// gets, and reuses its buffers after Reset.
func TestEntries(t *testing.T) {
	w := Writes{RNG: NewRNG(301), Gen: NewValueGenerator(0.5), Keys: 1000, ValueSize: 100, Random: true}
	b := Writes{RNG: NewRNG(301), Gen: NewValueGenerator(0.5), Keys: 1000, ValueSize: 100, Random: true}
	var e Entries
	var r recorder
	key := []byte(nil)
	for round := 0; round < 3; round++ {
		e.Reset()
		r = recorder{}
		key, _ = w.Put(&e, key, 2*round, 2)
		key[0] = 'x' // the caller's key buffer is not the entry's
		b.Put(&r, nil, 2*round, 2)
		require.Equal(t, 2, e.Len())
		for i := range 2 {
			require.Equal(t, r.keys[i], string(e.Keys[i]))
			require.Equal(t, r.values[i], string(e.Values[i]))
		}
	}
	k0 := &e.Keys[0][0]
	e.Reset()
	e.Put([]byte("0000000000000007"), []byte("v"))
	require.Same(t, k0, &e.Keys[0][0], "the buffer is reused")
	require.Equal(t, "0000000000000007", string(e.Keys[0]))
	require.Equal(t, "v", string(e.Values[0]))
}
