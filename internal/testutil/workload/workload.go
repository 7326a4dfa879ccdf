// Package workload generates the seeded streams of writes that the DB tests run (the crash,
// power-loss, fault, corruption and model tests, and the interoperability tests against C++
// leveldb), and holds the model they are checked against: a map of what a DB must hold, with
// the prefix matching a recovered DB is held to and the batch markers that prove a batch whole.
//
// A Shape says what a stream writes: its key space, the sizes of its values, the mix of puts,
// deletes, batches and empty synced writes, and how many are synced. A Gen draws writes of a
// Shape from one seed: write i depends only on the seed and the writes before it, so a parent
// process and its child, or a run and its replay, generate the same stream. Values name their
// write ("<tag>.<i>.<j>:..."), so a wrong value shows where it came from.
//
// Nothing here is safe for concurrent use; a Gen and a Model belong to one goroutine.
package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Kind is the kind of a write.
type Kind uint8

const (
	Put    Kind = iota // one put: Entries[0]
	Delete             // one delete: Entries[0]
	Batch              // a batch of puts and deletes, applied whole
	Sync               // an empty batch written with Sync: every earlier write becomes durable
)

func (k Kind) String() string {
	switch k {
	case Put:
		return "put"
	case Delete:
		return "delete"
	case Batch:
		return "batch"
	case Sync:
		return "sync"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Entry is one put (Delete false) or delete of a write.
type Entry struct {
	Key, Value string
	Delete     bool
}

// Op is one write: a Put, a Delete, a Batch, or an empty synced batch.
type Op struct {
	Kind    Kind
	Entries []Entry
	Sync    bool
}

func (op Op) String() string {
	return fmt.Sprintf("%s(%d entries, sync=%v)", op.Kind, len(op.Entries), op.Sync)
}

// Batcher is the write batch of a DB (Strata's, C++ leveldb's).
type Batcher interface {
	Put(key, value []byte)
	Delete(key []byte)
}

// AddTo adds op's entries to b.
func (op Op) AddTo(b Batcher) {
	for _, e := range op.Entries {
		if e.Delete {
			b.Delete([]byte(e.Key))
		} else {
			b.Put([]byte(e.Key), []byte(e.Value))
		}
	}
}

// Band is a range of value sizes, [Min, Max], drawn with weight Weight among a Shape's bands.
type Band struct{ Weight, Min, Max int }

// Shape is what a stream writes. The zero value of each field means "none" or "no limit".
type Shape struct {
	// Keys is the size of the key space: key i, for i in [0, Keys), is KeyFunc(i) or, without
	// it, KeyFormat (default "k%06d") applied to i.
	Keys      int
	KeyFormat string
	KeyFunc   func(i int) string
	// One key in EmptyKey is the empty key; one in BinaryKey is 1 to 12 random bytes.
	EmptyKey, BinaryKey int
	// Percentages of keys drawn from the keys put so far (Reuse), from the ascending keys
	// written so far (Ascending, see Gen.Ascending), and from the first tenth of the key space
	// (Hot).
	Reuse, Ascending, Hot int

	// Values are the value sizes, by band; MaxValue caps them. A value is one letter repeated
	// (after the head that names its write), or random bytes (incompressible): with
	// RandomValues half of them, and every value of RandomFrom bytes or more.
	Values       []Band
	MaxValue     int
	RandomValues bool
	RandomFrom   int

	// Put, Delete, Batch and Sync weigh the kinds of writes.
	Put, Delete, Batch, Sync int
	// A batch holds BatchMin to BatchMax entries, most of them few with BatchSkew; MaxBatch caps
	// them. One entry in BatchDeletes is a delete. With Markers every batch ends with a put of
	// its own marker key (Gen.Marker), which nothing else writes, so a batch is applied exactly
	// when its marker is there.
	BatchMin, BatchMax int
	BatchSkew          bool
	MaxBatch           int
	BatchDeletes       int
	Markers            bool

	// One write in SyncEvery is synced.
	SyncEvery int
}

// MarkerPrefix starts every batch marker key; it sorts after every key of a Shape's key space
// that starts with a letter or a digit.
const MarkerPrefix = "~m/"

// Gen generates the writes of a Shape. Shape may be changed between writes.
type Gen struct {
	Shape Shape

	rng  *rand.Rand
	tag  string
	i    int      // the number of the next write
	pool []string // keys put so far, for Shape.Reuse
	seq  int      // ascending keys written so far
}

// New returns a generator of the writes of shape drawn from seed; tag starts its values and
// names its markers.
func New(seed uint64, tag string, shape Shape) *Gen {
	return &Gen{Shape: shape, rng: NewRand(seed), tag: tag}
}

// BenchSizes are the table sizes the skiplist and memtable benchmarks fill: what a 4 MiB
// memtable holds with 16-byte keys and 100-byte values, and a large table where cache misses
// dominate.
var BenchSizes = []int{30_000, 1_000_000}

// RandomKeys returns n random 16-byte keys drawn from seed, carved from one allocation.
func RandomKeys(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	ks := make([][]byte, n)
	buf := make([]byte, 16*n)
	for i := range ks {
		k := buf[i*16 : (i+1)*16 : (i+1)*16]
		for j := range k {
			k[j] = byte(rng.Uint32())
		}
		ks[i] = k
	}
	return ks
}

// NewRand returns the deterministic generator the tests draw from seed.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Rand returns the generator's source, for choices a test makes between writes.
func (g *Gen) Rand() *rand.Rand { return g.rng }

// Tag returns the tag of the generator's values and markers.
func (g *Gen) Tag() string { return g.tag }

// KeyAt returns key i of the key space.
func (g *Gen) KeyAt(i int) string {
	if g.Shape.KeyFunc != nil {
		return g.Shape.KeyFunc(i)
	}
	format := g.Shape.KeyFormat
	if format == "" {
		format = "k%06d"
	}
	return fmt.Sprintf(format, i)
}

// Key draws a key.
func (g *Gen) Key() string {
	s, rng := &g.Shape, g.rng
	switch {
	case s.EmptyKey > 0 && rng.IntN(s.EmptyKey) == 0:
		return "" // the empty key is a key too
	case s.Reuse > 0 && len(g.pool) > 0 && rng.IntN(100) < s.Reuse:
		return g.pool[rng.IntN(len(g.pool))]
	case s.BinaryKey > 0 && rng.IntN(s.BinaryKey) == 0:
		return string(RandomBytes(rng, 1+rng.IntN(12))) // any bytes, 0x00 and 0xff included
	case s.Ascending > 0 && g.seq > 0 && rng.IntN(100) < s.Ascending:
		return ascendingKey(rng.IntN(g.seq))
	case s.Hot > 0 && rng.IntN(100) < s.Hot:
		return g.KeyAt(rng.IntN(max(1, s.Keys/10)))
	}
	return g.KeyAt(rng.IntN(s.Keys))
}

// Value draws the value of entry j of the next write.
func (g *Gen) Value(j int) string {
	s, rng := &g.Shape, g.rng
	size, total := 0, 0
	for _, b := range s.Values {
		total += b.Weight
	}
	if total > 0 {
		x := rng.IntN(total)
		for _, b := range s.Values {
			if x -= b.Weight; x < 0 {
				size = b.Min
				if b.Max > b.Min {
					size += rng.IntN(b.Max - b.Min + 1)
				}
				break
			}
		}
	}
	if s.MaxValue > 0 {
		size = min(size, s.MaxValue)
	}
	head := fmt.Sprintf("%s.%d.%d:", g.tag, g.i, j)
	if size <= len(head) {
		return head[:size]
	}
	if s.RandomFrom > 0 && size >= s.RandomFrom || s.RandomValues && rng.IntN(2) != 0 {
		return head + string(RandomBytes(rng, size-len(head)))
	}
	return head + strings.Repeat(string(rune('a'+rng.IntN(26))), size-len(head))
}

// Next returns the next write of the stream.
func (g *Gen) Next() Op {
	s, rng := &g.Shape, g.rng
	op := Op{Sync: s.SyncEvery > 0 && rng.IntN(s.SyncEvery) == 0}
	switch x := rng.IntN(s.Put + s.Delete + s.Batch + s.Sync); {
	case x < s.Put:
		op.Kind, op.Entries = Put, []Entry{g.put(0)}
	case x < s.Put+s.Delete:
		op.Kind, op.Entries = Delete, []Entry{{Key: g.Key(), Delete: true}}
	case x < s.Put+s.Delete+s.Batch:
		op.Kind = Batch
		n := s.BatchMin
		if span := s.BatchMax - s.BatchMin + 1; span > 1 && s.BatchSkew {
			n += rng.IntN(1 + rng.IntN(span))
		} else if span > 1 {
			n += rng.IntN(span)
		}
		if s.MaxBatch > 0 {
			n = min(n, s.MaxBatch)
		}
		for j := range n {
			if s.BatchDeletes > 0 && rng.IntN(s.BatchDeletes) == 0 {
				op.Entries = append(op.Entries, Entry{Key: g.Key(), Delete: true})
			} else {
				op.Entries = append(op.Entries, g.put(j))
			}
		}
		if s.Markers {
			op.Entries = append(op.Entries, Entry{Key: g.Marker(g.i), Value: fmt.Sprintf("%d entries", n)})
		}
	default:
		op.Kind, op.Sync = Sync, true
	}
	g.i++
	return op
}

// put draws the put of entry j of the next write.
func (g *Gen) put(j int) Entry {
	e := Entry{Key: g.Key()}
	e.Value = g.Value(j)
	if g.Shape.Reuse > 0 && len(g.pool) < 2000 {
		g.pool = append(g.pool, e.Key)
	}
	return e
}

// PutAt returns the next write: a put of key i.
func (g *Gen) PutAt(i int) Op {
	op := Op{Kind: Put, Entries: []Entry{{Key: g.KeyAt(i), Value: g.Value(0)}}}
	g.i++
	return op
}

// Take returns the next n writes.
func (g *Gen) Take(n int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = g.Next()
	}
	return ops
}

// Ascending returns n puts of keys above every ascending key written before ("s%08d"), each
// one write of the stream, with values of size bytes (random after the head that names the
// write): a memtable full of them overlaps nothing in the tree, so its flush places it below
// level 0.
func (g *Gen) Ascending(n, size int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		v := fmt.Sprintf("%s.%d.0:", g.tag, g.i)
		v += string(RandomBytes(g.rng, max(0, size-len(v))))
		ops[i] = Op{Kind: Put, Entries: []Entry{{Key: ascendingKey(g.seq), Value: v}}}
		g.seq++
		g.i++
	}
	return ops
}

func ascendingKey(i int) string { return fmt.Sprintf("s%08d", i) }

// Marker returns the marker key of write i of the stream.
func (g *Gen) Marker(i int) string { return fmt.Sprintf("%s%s/%06d", MarkerPrefix, g.tag, i) }

// RandomBytes returns n pseudo-random bytes (incompressible, so that table sizes follow data
// sizes).
func RandomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}
