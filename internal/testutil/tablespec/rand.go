package tablespec

// splitMix is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state advanced by a constant
// and hashed. It is written out here, not taken from math/rand, because the fixture files are
// checked in: the sequence must never change with the Go version.
type splitMix struct{ state uint64 }

func (r *splitMix) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// mix64 is SplitMix64's finalizer, a bijective hash of 64 bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n) (n > 0). The modulo bias is irrelevant here and, unlike a
// rejection loop, keeps one draw per call.
func (r *splitMix) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *splitMix) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}
