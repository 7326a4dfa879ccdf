// Package tablespec specifies the fixture tables that C++ leveldb 1.23 writes into
// sstable/testdata/leveldb/ and sstable/testdata/broken/, so that the generator
// (sstable/testdata/gen, built with -tags cleveldb) and the Go tests that read the fixtures agree
// on every byte of every entry without storing the entries twice.
//
// A Spec is plain data; Entries derives its sorted entries from the Spec alone with a
// hand-written SplitMix64 generator, so the entries never change across Go versions or
// platforms. Changing a Spec, the generator or Specs' list changes the fixtures: regenerate
// them (`go run -tags cleveldb ./sstable/testdata/gen`) and commit both together.
//
// Everything here is deterministic and safe for concurrent use.
package tablespec

import (
	"bytes"
	"iter"
	"slices"

	"github.com/stratadb/strata/internal/keys"
)

// Spec describes one fixture table: the options C++ leveldb writes it with and the formula for
// its entries.
type Spec struct {
	Name string // file name without ".ldb"
	Doc  string // what the table is for

	// Table options, as leveldb::Options fields. Zero BlockSize and RestartInterval mean
	// leveldb's defaults, 4096 and 16.
	Compression     bool // snappy
	BloomBitsPerKey int  // 0 = no filter block
	BlockSize       int
	RestartInterval int

	// InternalKeys makes a table like the ones a DB writes: keys are internal keys (user key +
	// 8-byte little-endian trailer seq<<8|kind) in leveldb's internal order, some user keys
	// with several versions and some versions deletions (empty value), and the bloom filter is
	// built over user keys. Without it, keys are plain byte strings in bytewise order.
	InternalKeys bool

	N          int      // number of distinct ordinary user keys
	Seed       uint64   // seeds every draw
	KeyLen     LenRange // lengths of ordinary keys
	ValueLen   LenRange // lengths of ordinary values
	BinaryKeys bool     // key bytes 0x00-0xff instead of [0-9a-z]
	EmptyKey   bool     // add the empty key (it sorts first)
	// IncompressiblePercent is the share of runs of valuesPerRun consecutive entries (in key
	// order) whose values are random bytes; the other runs get repetitive values that snappy
	// shrinks well. Runs span whole blocks, so a snappy table gets raw blocks (snappy saves
	// less than 12.5%) as well as compressed ones.
	IncompressiblePercent int
	Big                   []Big // extra entries with large keys or values
}

// LenRange is an inclusive range of lengths, drawn uniformly.
type LenRange struct{ Min, Max int }

// Big is an extra entry with a key and a value of exact sizes.
type Big struct {
	KeyLen, ValueLen int
	Incompressible   bool // random value bytes; otherwise highly repetitive ones
}

// Entry is one key/value pair as stored in the table. Key is the user key, or for InternalKeys
// specs the internal key (parse it with internal/keys).
type Entry struct {
	Key, Value []byte
}

// valuesPerRun is the length of a run of entries sharing one kind of value (see
// IncompressiblePercent).
const valuesPerRun = 64

// FileName is the fixture's file name, Name + ".ldb".
func (s Spec) FileName() string { return s.Name + ".ldb" }

// LookupKey returns the key to look up userKey with in this table: userKey itself, or for
// InternalKeys specs the internal key with the largest sequence number and KindMax, which sorts
// before every version of userKey (leveldb's LookupKey).
func (s Spec) LookupKey(userKey []byte) []byte {
	if !s.InternalKeys {
		return userKey
	}
	return keys.AppendInternalKey(nil, userKey, keys.MaxSeqNum, keys.KindMax)
}

// userKeys draws the spec's distinct user keys, sorted, and returns them with the value plan of
// each: the index into s.Big, or -1 for an ordinary entry.
func (s Spec) userKeys() (uks [][]byte, big []int) {
	r := &splitMix{state: s.Seed}
	seen := make(map[string]int)
	add := func(k []byte, b int) bool {
		if _, dup := seen[string(k)]; dup {
			return false
		}
		seen[string(k)] = b
		return true
	}
	if s.EmptyKey {
		add([]byte{}, -1)
	}
	for n := 0; n < s.N; {
		if add(s.key(r, r.between(s.KeyLen.Min, s.KeyLen.Max)), -1) {
			n++
		}
	}
	for i, b := range s.Big {
		for !add(s.key(r, b.KeyLen), i) {
		}
	}
	uks = make([][]byte, 0, len(seen))
	for k := range seen {
		uks = append(uks, []byte(k))
	}
	slices.SortFunc(uks, bytes.Compare)
	big = make([]int, len(uks))
	for i, k := range uks {
		big[i] = seen[string(k)]
	}
	return uks, big
}

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// key draws a key of n bytes.
func (s Spec) key(r *splitMix, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		if s.BinaryKeys {
			k[i] = byte(r.next())
		} else {
			k[i] = alphabet[r.intn(len(alphabet))]
		}
	}
	return k
}

// value draws a value of n bytes: random bytes, or an 8-byte random printable pattern repeated.
func value(r *splitMix, n int, incompressible bool) []byte {
	v := make([]byte, n)
	if incompressible {
		for i := 0; i < n; i += 8 {
			x := r.next()
			for j := i; j < n && j < i+8; j++ {
				v[j] = byte(x >> (8 * (j - i)))
			}
		}
		return v
	}
	var pat [8]byte
	for i := range pat {
		pat[i] = alphabet[r.intn(len(alphabet))]
	}
	for i := range v {
		v[i] = pat[i%8]
	}
	return v
}

// Entries returns the table's entries in table order. The result is the definition of the
// fixture's contents: the generator writes exactly these, and readers must find exactly these.
//
// The formula: the ordinary keys (drawn until N are distinct), then the Big keys, from one
// SplitMix64 stream seeded with Seed; sorted; then, in key order, each key's value (Big entries
// get their given size, the others a ValueLen draw; random or repetitive per run, see
// IncompressiblePercent), from a second stream seeded with Seed+1. InternalKeys specs give each
// user key 1 to 3 versions from a third stream (Seed+2): distinct sequence numbers (every 16th
// user key near the 56-bit maximum), newest first, a fifth of them deletions with empty values.
func (s Spec) Entries() []Entry {
	uks, big := s.userKeys()
	vr := &splitMix{state: s.Seed + 1}
	values := make([][]byte, len(uks))
	for i := range uks {
		if b := big[i]; b >= 0 {
			values[i] = value(vr, s.Big[b].ValueLen, s.Big[b].Incompressible)
			continue
		}
		run := uint64(i / valuesPerRun)
		random := int(mix64(s.Seed^run)%100) < s.IncompressiblePercent
		values[i] = value(vr, vr.between(s.ValueLen.Min, s.ValueLen.Max), random)
	}
	if !s.InternalKeys {
		es := make([]Entry, len(uks))
		for i := range uks {
			es[i] = Entry{Key: uks[i], Value: values[i]}
		}
		return es
	}

	sr := &splitMix{state: s.Seed + 2}
	es := make([]Entry, 0, 2*len(uks))
	for i, uk := range uks {
		base := keys.SeqNum(1)
		if i%16 == 15 {
			base = keys.MaxSeqNum - 1<<20
		}
		seqs := make([]keys.SeqNum, 0, 3)
		for n := sr.between(1, 3); len(seqs) < n; {
			seq := base + keys.SeqNum(sr.intn(1<<20))
			if !slices.Contains(seqs, seq) {
				seqs = append(seqs, seq)
			}
		}
		slices.Sort(seqs)
		slices.Reverse(seqs)
		for _, seq := range seqs {
			kind, v := keys.KindSet, values[i]
			if sr.intn(5) == 0 {
				kind, v = keys.KindDelete, []byte{}
			}
			es = append(es, Entry{Key: keys.AppendInternalKey(nil, uk, seq, kind), Value: v})
		}
	}
	return es
}

// All yields the entries of Entries as key/value pairs.
func (s Spec) All() iter.Seq2[[]byte, []byte] {
	return func(yield func(k, v []byte) bool) {
		for _, e := range s.Entries() {
			if !yield(e.Key, e.Value) {
				return
			}
		}
	}
}

// AbsentKeys returns n distinct user keys that the table does not hold (for filter and
// not-found checks). About half are present keys with one byte changed or 1 to 4 bytes added,
// so they fall between present keys all over the table; the rest are fresh draws of the spec's
// key lengths (at least 1 and up to at least 8 bytes, so that small specs have enough room).
// For InternalKeys specs, look them up with LookupKey.
func (s Spec) AbsentKeys(n int) [][]byte {
	uks, _ := s.userKeys()
	present := make(map[string]bool, len(uks)+n)
	for _, k := range uks {
		present[string(k)] = true
	}
	r := &splitMix{state: s.Seed ^ 0xab5e47}
	out := make([][]byte, 0, n)
	for len(out) < n {
		var k []byte
		if len(uks) > 0 && r.intn(2) == 0 {
			k = bytes.Clone(uks[r.intn(len(uks))])
			if len(k) > 0 && r.intn(2) == 0 {
				k[r.intn(len(k))] ^= byte(1 + r.intn(255))
			} else {
				k = append(k, s.key(r, r.between(1, 4))...)
			}
		} else {
			k = s.key(r, r.between(max(s.KeyLen.Min, 1), max(s.KeyLen.Max, 8)))
		}
		if !present[string(k)] {
			present[string(k)] = true
			out = append(out, k)
		}
	}
	return out
}
