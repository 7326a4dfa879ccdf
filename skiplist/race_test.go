package skiplist

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRaceOneWriterFourReaders runs one writer against four readers. Each reader repeatedly
// checks that a forward and a backward scan are strictly ordered, that every key the writer had
// finished adding before the scan started is visible, and that values match their keys. Run it
// with -race: the readers take no locks.
func TestRaceOneWriterFourReaders(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 5_000
	}
	l := New(NewArena(n*200), nil)
	var done atomic.Int64 // keys 0..done-1 (in insertion order) are fully added
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	// A fixed permutation so inserts land all over the list.
	for i := len(order) - 1; i > 0; i-- {
		j := int(uint64(i) * 2654435761 % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	keyOf := func(v uint32) []byte { return binary.BigEndian.AppendUint32([]byte("k"), v) }
	valueOf := func(v uint32) []byte { return binary.BigEndian.AppendUint32([]byte("value-of-"), v) }

	var wg sync.WaitGroup
	errs := make(chan string, 16)
	fail := func(msg string) {
		select {
		case errs <- msg:
		default:
		}
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(backward bool) {
			defer wg.Done()
			for {
				finished := done.Load()
				must := make(map[uint32]bool, finished)
				for _, v := range order[:finished] {
					must[v] = true
				}
				it := l.NewIterator()
				var prev []byte
				seen := 0
				ok := it.First()
				if backward {
					ok = it.Last()
				}
				for ; ok; ok = map[bool]func() bool{false: it.Next, true: it.Prev}[backward]() {
					k := it.Key()
					if prev != nil {
						c := bytes.Compare(prev, k)
						if (!backward && c >= 0) || (backward && c <= 0) {
							fail("out of order")
						}
					}
					v := binary.BigEndian.Uint32(k[1:])
					if !bytes.Equal(it.Value(), valueOf(v)) {
						fail("value does not match key")
					}
					if must[v] {
						seen++
					}
					prev = k
				}
				if int64(seen) != finished {
					fail("a finished insert was not visible")
				}
				if finished == int64(n) {
					return
				}
			}
		}(r%2 == 1)
	}
	for i, v := range order {
		if err := l.Add(keyOf(v), 0, valueOf(v)); err != nil {
			t.Fatal(err)
		}
		done.Store(int64(i + 1))
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if l.Len() != n {
		t.Fatalf("Len %d, want %d", l.Len(), n)
	}
}
