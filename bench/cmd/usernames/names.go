package main

import (
	"fmt"
	"math/bits"
)

// The names of the input file. Line i (from 0) holds name(π(i)), where π is a keyed permutation
// of [0, n) and name an injective encoding of an index into a username, so that:
//
//  1. The n lines are n distinct names, with no set to check it: π is a bijection of [0, n), so
//     the lines' indexes π(0), ..., π(n-1) are distinct; name is injective, so their names are.
//  2. π is a Feistel network on [0, 2^k), the smallest power of two of at least n (and 4),
//     restricted to [0, n) by cycle walking: x, F(x), F(F(x)), ... until the first value below
//     n. A Feistel network is a bijection of [0, 2^k) whatever its round function (a round maps
//     (L, R) to (R, L xor f(R)), undone by mapping (R, L') to (L' xor f(R), R)). The walk from x
//     follows x's cycle of F, which comes back to x, so it ends; and it is a bijection of [0, n)
//     because the same walk with F's inverse undoes it. As 2^k < 2n once n > 2, a walk takes
//     fewer than two steps on average.
//  3. name(p) is a prefix of 0 to 10 characters from [a-z0-9_] followed by a tail of exactly
//     tailLen characters from [a-z0-9] that encodes p in base 36 (least significant digit
//     first, each position's digit shifted by a per-position offset from the seed: a bijection
//     of the digits). The prefix and the length come from a hash of p. Two names of different
//     p have different tails, that is different last tailLen characters, so they differ: name
//     is injective on [0, 36^tailLen), which is why n is at most maxN.
//  4. Every name is 6 to 16 characters long (tailLen plus 0 to 10) and ends with a character
//     of [a-z0-9], never '_'. The absent names end with '_', so no line of any input holds one.
//  5. Everything is a function of (n, seed): the same pair always gives the same file.

const (
	tailLen    = 6                           // characters of the tail that encodes the index
	maxPrefix  = 10                          // a name is tailLen to tailLen+maxPrefix characters long
	maxNameLen = tailLen + maxPrefix         // 16
	maxN       = 36 * 36 * 36 * 36 * 36 * 36 // 36^tailLen: the indexes the tail can encode
	absentN    = 4                           // names known to be absent
	rounds     = 4                           // Feistel rounds
)

// alphabet is the names' character set; the tail uses its first 36 characters, so never '_'.
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_"

// generator gives the names of the input of n names from one seed. It is read-only once made,
// and safe for concurrent use.
type generator struct {
	n      uint64
	lBits  uint // the Feistel network's halves: L of lBits bits, R of rBits bits
	rBits  uint
	keys   [rounds]uint64
	hkey   uint64 // keys the hash that picks a name's length and prefix
	offset [tailLen]uint8
}

// newGenerator returns the generator of n names from seed; n must be in [1, maxN].
func newGenerator(n int64, seed uint64) (*generator, error) {
	if n < 1 || n > maxN {
		return nil, fmt.Errorf("n = %d: the names encode at most %d indexes (1 <= n <= %d)", n, int64(maxN), int64(maxN))
	}
	g := &generator{n: uint64(n)}
	k := uint(max(bits.Len64(uint64(n-1)), 2))
	g.lBits = k / 2
	g.rBits = k - g.lBits
	s := seed
	for i := range g.keys {
		g.keys[i] = splitmix(&s)
	}
	g.hkey = splitmix(&s)
	for i := range g.offset {
		g.offset[i] = uint8(splitmix(&s) % 36)
	}
	return g, nil
}

// splitmix advances *s and returns the next value of the splitmix64 sequence.
func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	return mix(*s)
}

// mix is splitmix64's finalizer: a bijection of uint64 whose every output bit depends on every
// input bit.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// feistel is one pass of the network over [0, 2^(lBits+rBits)). The halves swap widths at
// every round (an unbalanced network when k is odd); with an even number of rounds they end at
// the widths they started with, so the result is again a value of k bits.
func (g *generator) feistel(x uint64) uint64 {
	lw, rw := g.lBits, g.rBits
	l, r := x>>rw, x&(1<<rw-1)
	for _, key := range g.keys {
		// (L: lw bits, R: rw bits) -> (R: rw bits, L xor f(R): lw bits)
		l, r = r, (l^mix(r^key))&(1<<lw-1)
		lw, rw = rw, lw
	}
	return l<<rw | r
}

// permute returns π(i) for i in [0, n).
func (g *generator) permute(i uint64) uint64 {
	x := g.feistel(i)
	for x >= g.n {
		x = g.feistel(x)
	}
	return x
}

// appendName appends the name of index p, for p < maxN, to dst.
func (g *generator) appendName(dst []byte, p uint64) []byte {
	h := mix(p ^ g.hkey)
	plen := int(h % (maxPrefix + 1))
	h /= maxPrefix + 1 // 2^64/11 > 37^10: enough left for ten characters of 37
	for range plen {
		dst = append(dst, alphabet[h%37])
		h /= 37
	}
	for i := range tailLen {
		dst = append(dst, alphabet[(uint8(p%36)+g.offset[i])%36])
		p /= 36
	}
	return dst
}

// appendLine appends the name on line i (from 0) of the input, without its newline.
func (g *generator) appendLine(dst []byte, i uint64) []byte {
	return g.appendName(dst, g.permute(i))
}

// absent returns the absentN names that no input holds: shaped as the others (the names of
// indexes n to n+3), with the last character replaced by '_',
// which no name of an input ends with (invariant 4 above).
func (g *generator) absent() [][]byte {
	out := make([][]byte, absentN)
	for j := range out {
		b := g.appendName(nil, (g.n+uint64(j))%maxN)
		b[len(b)-1] = '_'
		out[j] = b
	}
	return out
}
