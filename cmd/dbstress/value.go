package main

import (
	"bytes"
	"fmt"
	"strconv"
)

// Keys and values.
//
// Key i of the key space [0, --keys) is "k" and i in 8 decimal digits ("k00000042"), so the
// keys sort as their numbers do and a scan of the numbers [lo, hi) is a scan of the keys
// [key(lo), key(hi)).
//
// The value of version v of key i is a function of (i, v) alone:
//
//	k00000042@7/112:qhzkw...
//
// the key, "@", the version, "/", the value's whole length, ":", then letters drawn from a
// generator seeded with (i, v). So any value found under a key tells which version it is, and
// whether it is whole and under the right key (checkValue), whatever --value_size the run that
// wrote it had; and a version written again after a kill lost it has the same bytes.

const keyDigits = 8

// maxKeys bounds --keys: key numbers have keyDigits digits.
const maxKeys = 100_000_000

// keyLen is the length of every key.
const keyLen = 1 + keyDigits

// appendKey appends key i to dst.
func appendKey(dst []byte, i int) []byte {
	var d [keyDigits]byte
	for j := keyDigits - 1; j >= 0; j-- {
		d[j] = byte('0' + i%10)
		i /= 10
	}
	dst = append(dst, 'k')
	return append(dst, d[:]...)
}

// keyString returns key i.
func keyString(i int) string { return string(appendKey(nil, i)) }

// parseKey returns the number of key k, and false when k is not a key of a space of n keys.
func parseKey(k []byte, n int) (int, bool) {
	if len(k) != keyLen || k[0] != 'k' {
		return 0, false
	}
	i := 0
	for _, c := range k[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i < n
}

// mix is splitmix64's finalizer: a well-spread hash of x.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// valueSeed is the seed of the letters and the length of version v of key i.
func valueSeed(i int, v uint64) uint64 { return mix(uint64(i)*0x9e3779b97f4a7c15 ^ mix(v)) }

// valueLen returns the length of version v of key i for a run with --value_size size: between
// size/2 and 3*size/2, and one version in 64 eight times that (so that some values cross log
// and table block boundaries); never shorter than the value's head.
func valueLen(i int, v uint64, size, headLen int) int {
	h := valueSeed(i, v)
	n := size/2 + int(h>>8%uint64(size+1))
	if h&63 == 0 {
		n *= 8
	}
	return max(n, headLen)
}

// appendHead appends the head of version v of key i, for a value of length n.
func appendHead(dst []byte, i int, v uint64, n int) []byte {
	dst = appendKey(dst, i)
	dst = append(dst, '@')
	dst = strconv.AppendUint(dst, v, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, ':')
}

// appendFill appends the letters of version v of key i from offset off of the value to offset
// n.
func appendFill(dst []byte, i int, v uint64, off, n int) []byte {
	x := valueSeed(i, v)
	for j := off; j < n; j++ {
		if (j-off)%8 == 0 {
			x = mix(x + 0x9e3779b97f4a7c15)
		}
		dst = append(dst, 'a'+byte((x>>(8*((j-off)%8)))%26))
	}
	return dst
}

// makeValue returns version v of key i for a run with --value_size size.
func makeValue(i int, v uint64, size int) []byte {
	// The head's length depends on n's digits: n is at least the longest head's length, so the
	// head for n fits in it.
	n := valueLen(i, v, size, len(appendHead(nil, i, v, 1<<30)))
	head := appendHead(make([]byte, 0, n), i, v, n)
	return appendFill(head, i, v, len(head), n)
}

// checkValue returns the version that value is of key i, or an error saying why value is not a
// version of key i that dbstress wrote: a wrong key, a wrong length, a wrong byte.
func checkValue(i int, value []byte) (uint64, error) {
	rest, ok := bytes.CutPrefix(value, appendKey(nil, i))
	if !ok || len(rest) == 0 || rest[0] != '@' {
		return 0, fmt.Errorf("does not start with %q@", keyString(i))
	}
	slash := bytes.IndexByte(rest, '/')
	colon := bytes.IndexByte(rest, ':')
	if slash < 0 || colon < slash {
		return 0, fmt.Errorf("has no version/length head")
	}
	v, err := strconv.ParseUint(string(rest[1:slash]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("has a bad version %q", rest[1:slash])
	}
	n, err := strconv.Atoi(string(rest[slash+1 : colon]))
	if err != nil || n != len(value) {
		return v, fmt.Errorf("is %d bytes long, its head says %q", len(value), rest[slash+1:colon])
	}
	headLen := len(value) - len(rest) + colon + 1
	want := appendFill(nil, i, v, headLen, n)
	if j := firstDiff(value[headLen:], want); j >= 0 {
		return v, fmt.Errorf("differs from version %d at byte %d", v, headLen+j)
	}
	return v, nil
}

// firstDiff returns the first index where a and b differ, or -1 when they are equal.
func firstDiff(a, b []byte) int {
	for j := range min(len(a), len(b)) {
		if a[j] != b[j] {
			return j
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// quoteValue returns v quoted for a message, cut after 40 bytes.
func quoteValue(v []byte) string {
	const limit = 40
	if len(v) <= limit {
		return strconv.Quote(string(v))
	}
	return strconv.Quote(string(v[:limit])) + "..."
}
