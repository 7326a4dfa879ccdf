package benchgen

// Putter is a write batch: what a db_bench write puts its entries in.
type Putter interface{ Put(key, value []byte) }

// Writes describes the entries of one db_bench write workload (fillseq, fillrandom, overwrite,
// fillsync, fillbatch, fill100K): entry k has key k, or, with Random, a key RNG draws below Keys;
// each value is ValueSize bytes from Gen.
type Writes struct {
	RNG       *RNG
	Gen       *ValueGenerator
	Keys      int
	ValueSize int
	Random    bool
}

// Put puts entries first to first+n-1 in b, drawing keys and values in db_bench's order. key is
// a buffer for the keys; Put returns it for reuse, and the bytes of the keys and values put.
func (w Writes) Put(b Putter, key []byte, first, n int) ([]byte, int64) {
	var bytes int64
	for i := first; i < first+n; i++ {
		k := i
		if w.Random {
			k = w.RNG.Uniform(w.Keys)
		}
		key = FormatKey(key[:0], k)
		v := w.Gen.Generate(w.ValueSize)
		b.Put(key, v)
		bytes += int64(len(key) + len(v))
	}
	return key, bytes
}

// Entries is a Putter that keeps the entries put in it, keys and values copied into buffers it
// reuses after Reset: for a workload that does more with its entries than batch them (txnrandom
// reads each key, then writes it in a transaction, perhaps more than once).
type Entries struct {
	Keys, Values [][]byte
}

// Put appends a copy of key and value.
func (e *Entries) Put(key, value []byte) {
	e.Keys = appendCopy(e.Keys, key)
	e.Values = appendCopy(e.Values, value)
}

// Len returns the number of entries put since the last Reset.
func (e *Entries) Len() int { return len(e.Keys) }

// Reset empties e, keeping its buffers for the next entries.
func (e *Entries) Reset() { e.Keys, e.Values = e.Keys[:0], e.Values[:0] }

// appendCopy appends a copy of b to list, in the buffer of the element past list's end if a
// Reset left one there.
func appendCopy(list [][]byte, b []byte) [][]byte {
	n := len(list)
	if n < cap(list) {
		list = list[:n+1]
		list[n] = append(list[n][:0], b...)
		return list
	}
	return append(list, append([]byte(nil), b...))
}
