// Package benchgen holds what leveldb's db_bench does the same way for every engine: its keys,
// values and random numbers, the entries of its write workloads (Writes), starting a workload's
// threads together (Together) and the CPU line of its header (ReadCPU). cmd/dbbench and the
// bench module's comparison share it, so that Strata's own dbbench and every engine compared in
// bench/ see the same keys and values in the same order for the same seeds.
//
// Invariant: for a given seed, RNG draws the sequence C++ db_bench's Random draws, and a
// ValueGenerator hands out the bytes its RandomGenerator does.
package benchgen

// RNG is db_bench's random number generator: Park-Miller's minimal standard generator,
// seed = seed * 16807 mod (2^31 - 1).
type RNG struct{ seed uint32 }

// NewRNG returns a generator seeded as db_bench seeds one (0 and 2^31-1 become 1).
func NewRNG(seed uint32) *RNG {
	seed &= 0x7fffffff
	if seed == 0 || seed == 2147483647 {
		seed = 1
	}
	return &RNG{seed: seed}
}

// Next returns the next number of the sequence.
func (r *RNG) Next() uint32 {
	const m = 2147483647
	const a = 16807
	product := uint64(r.seed) * a
	r.seed = uint32((product >> 31) + (product & m))
	if r.seed > m {
		r.seed -= m
	}
	return r.seed
}

// Uniform returns a value in [0, n).
func (r *RNG) Uniform(n int) int { return int(r.Next() % uint32(n)) }

// Permutation returns 0..n-1 shuffled (Fisher-Yates) by db_bench's generator seeded with seed.
func Permutation(n int, seed uint32) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	r := NewRNG(seed)
	for i := n - 1; i > 0; i-- {
		j := r.Uniform(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// ValueGenerator hands out values cut from a 1 MiB buffer that snappy compresses to about
// ratio of its size, as db_bench's RandomGenerator does: each 100-byte piece is ratio*100
// random printable bytes repeated to fill 100. Every generator starts from seed 301 and
// position 0, as each of db_bench's does.
type ValueGenerator struct {
	data []byte
	pos  int
}

// NewValueGenerator returns a generator of values that compress to ratio of their size.
func NewValueGenerator(ratio float64) *ValueGenerator {
	r := NewRNG(301)
	g := &ValueGenerator{}
	for len(g.data) < 1<<20 {
		g.data = append(g.data, compressibleString(r, ratio, 100)...)
	}
	return g
}

func compressibleString(r *RNG, ratio float64, n int) []byte {
	raw := max(int(float64(n)*ratio), 1)
	random := make([]byte, raw)
	for i := range random {
		random[i] = byte(' ' + r.Uniform(95))
	}
	out := make([]byte, 0, n+raw)
	for len(out) < n {
		out = append(out, random...)
	}
	return out[:n]
}

// Generate returns the next n bytes, valid until the generator is used again; values longer
// than the buffer are built by repetition.
func (g *ValueGenerator) Generate(n int) []byte {
	if n > len(g.data) {
		out := make([]byte, 0, n)
		for len(out) < n {
			out = append(out, g.data[:min(len(g.data), n-len(out))]...)
		}
		return out
	}
	if g.pos+n > len(g.data) {
		g.pos = 0
	}
	g.pos += n
	return g.data[g.pos-n : g.pos]
}

// KeySize is the length of every key FormatKey writes.
const KeySize = 16

// FormatKey appends key number k as db_bench writes it: sixteen decimal digits, zero-padded.
func FormatKey(dst []byte, k int) []byte {
	var buf [20]byte
	i := len(buf)
	for v := k; ; v /= 10 {
		i--
		buf[i] = byte('0' + v%10)
		if v < 10 {
			break
		}
	}
	for pad := KeySize - (len(buf) - i); pad > 0; pad-- {
		dst = append(dst, '0')
	}
	return append(dst, buf[i:]...)
}
