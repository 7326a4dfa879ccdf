package main

// rng is db_bench's random number generator: Park-Miller's minimal standard generator
// (seed * 16807 mod 2^31-1), so that keys and values follow the same sequences as C++ db_bench's
// for the same seeds.
type rng struct{ seed uint32 }

func newRNG(seed uint32) *rng {
	seed &= 0x7fffffff
	if seed == 0 || seed == 2147483647 {
		seed = 1
	}
	return &rng{seed: seed}
}

func (r *rng) next() uint32 {
	const m = 2147483647
	const a = 16807
	product := uint64(r.seed) * a
	r.seed = uint32((product >> 31) + (product & m))
	if r.seed > m {
		r.seed -= m
	}
	return r.seed
}

// uniform returns a value in [0, n).
func (r *rng) uniform(n int) int { return int(r.next() % uint32(n)) }

// valueGenerator hands out values cut from a 1 MiB buffer of data that snappy compresses to
// about ratio of its size, as db_bench's RandomGenerator does: each 100-byte piece is ratio*100
// random printable bytes repeated to fill 100.
type valueGenerator struct {
	data []byte
	pos  int
}

func newValueGenerator(ratio float64) *valueGenerator {
	r := newRNG(301)
	g := &valueGenerator{}
	for len(g.data) < 1<<20 {
		g.data = append(g.data, compressibleString(r, ratio, 100)...)
	}
	return g
}

func compressibleString(r *rng, ratio float64, n int) []byte {
	raw := max(int(float64(n)*ratio), 1)
	random := make([]byte, raw)
	for i := range random {
		random[i] = byte(' ' + r.uniform(95))
	}
	out := make([]byte, 0, n+raw)
	for len(out) < n {
		out = append(out, random...)
	}
	return out[:n]
}

// generate returns the next n bytes; values longer than the buffer are built by repetition.
func (g *valueGenerator) generate(n int) []byte {
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

// formatKey writes key number k as db_bench does: sixteen decimal digits, zero-padded.
func formatKey(dst []byte, k int) []byte {
	var buf [20]byte
	i := len(buf)
	for v := k; ; v /= 10 {
		i--
		buf[i] = byte('0' + v%10)
		if v < 10 {
			break
		}
	}
	for pad := 16 - (len(buf) - i); pad > 0; pad-- {
		dst = append(dst, '0')
	}
	return append(dst, buf[i:]...)
}
