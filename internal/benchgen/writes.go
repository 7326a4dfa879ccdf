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
