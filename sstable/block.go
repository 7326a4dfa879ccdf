package sstable

import (
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
)

// A block (data, index or metaindex) holds sorted entries, then the restart array:
//
//	block   := entry* restart:fixed32{num_restarts} num_restarts:fixed32
//	entry   := shared:varint32 unshared:varint32 value_len:varint32
//	           key_delta:byte{unshared} value:byte{value_len}
//
// An entry's key is the first shared bytes of the previous entry's key followed by key_delta.
// Every restart offset points at an entry with shared == 0, so a reader can decode the key
// there without looking back; the first entry is always a restart point. Restart offsets are
// strictly increasing. A block with no entries is one restart (0) and the count 1: 8 bytes.

// block is a parsed block. It is a small value re-made from the bytes each time a block is
// used, so serving a cached block allocates nothing.
type block struct {
	data        []byte // the whole contents
	restartsOff int    // end of the entries and start of the restart array
	numRestarts int
}

// parseBlock reads the restart count and locates the restart array. It does only the checks
// needed to index safely; checkBlock validates the rest once per block.
func parseBlock(data []byte) (block, bool) {
	if len(data) < 4 {
		return block{}, false
	}
	n := coding.Fixed32(data[len(data)-4:])
	if uint64(n) > uint64(len(data)-4)/4 {
		return block{}, false
	}
	return block{data: data, restartsOff: len(data) - 4 - 4*int(n), numRestarts: int(n)}, true
}

// restart returns the offset of restart point i. Precondition: 0 <= i < numRestarts.
func (b *block) restart(i int) int {
	return int(coding.Fixed32(b.data[b.restartsOff+4*i:]))
}

// decodeEntry reads the header of the entry at p, which must lie before limit. n is the header
// length, 0 when the header is malformed or the entry runs past limit.
func decodeEntry(data []byte, p, limit int) (shared, unshared, vlen, n int) {
	if p+3 <= limit {
		// Fast path: all three lengths fit in one byte, as they do for typical keys.
		a, b, c := data[p], data[p+1], data[p+2]
		if a|b|c < 0x80 {
			shared, unshared, vlen, n = int(a), int(b), int(c), 3
			if unshared+vlen > limit-p-3 {
				return 0, 0, 0, 0
			}
			return shared, unshared, vlen, n
		}
	}
	if p >= limit {
		return 0, 0, 0, 0
	}
	d := data[p:limit]
	s, n1 := coding.Varint32(d)
	if n1 <= 0 {
		return 0, 0, 0, 0
	}
	u, n2 := coding.Varint32(d[n1:])
	if n2 <= 0 {
		return 0, 0, 0, 0
	}
	v, n3 := coding.Varint32(d[n1+n2:])
	if n3 <= 0 {
		return 0, 0, 0, 0
	}
	n = n1 + n2 + n3
	if uint64(u)+uint64(v) > uint64(len(d)-n) {
		return 0, 0, 0, 0
	}
	return int(s), int(u), int(v), n
}

// checkBlock validates a whole block: the restart array (count, offsets inside the entries,
// strictly increasing, each on an entry boundary with shared == 0, the first at 0), every
// entry's lengths, and, when ord is not nil, that keys strictly increase. It returns the number
// of entries. kbuf is scratch for rebuilding keys; the grown buffer is returned for reuse.
// Errors are corruption errors naming file and the block's offset.
func checkBlock(data []byte, ord *order, file string, off uint64, kbuf []byte) (entries int, _ []byte, _ error) {
	corrupt := func(format string, args ...any) error {
		return dberr.Corruptf(file, int64(off), "block: "+format, args...)
	}
	b, ok := parseBlock(data)
	if !ok {
		if len(data) < 4 {
			return 0, kbuf, corrupt("%d bytes is too short for a restart count", len(data))
		}
		return 0, kbuf, corrupt("restart count %d too large for %d bytes", coding.Fixed32(data[len(data)-4:]), len(data))
	}
	if b.restartsOff == 0 {
		// No entries: leveldb writes one restart at 0; accept none too, as leveldb does.
		if b.numRestarts > 1 || (b.numRestarts == 1 && b.restart(0) != 0) {
			return 0, kbuf, corrupt("empty block with restart points past its entries")
		}
		return 0, kbuf, nil
	}
	if b.numRestarts == 0 {
		return 0, kbuf, corrupt("%d bytes of entries but no restart points", b.restartsOff)
	}
	if r0 := b.restart(0); r0 != 0 {
		return 0, kbuf, corrupt("first restart point at %d, not 0", r0)
	}
	key := kbuf[:0]
	next := 0 // index of the next restart point to meet
	for p := 0; p < b.restartsOff; {
		atRestart := false
		if next < b.numRestarts {
			r := b.restart(next)
			if r < p || r >= b.restartsOff {
				if r >= b.restartsOff {
					return 0, key, corrupt("restart point %d at %d is past the entries (%d bytes)", next, r, b.restartsOff)
				}
				return 0, key, corrupt("restart point %d at %d is not on an entry boundary or not increasing", next, r)
			}
			if r == p {
				atRestart = true
				next++
			}
		}
		shared, unshared, vlen, n := decodeEntry(data, p, b.restartsOff)
		if n == 0 {
			return 0, key, corrupt("entry at %d has bad lengths", p)
		}
		if atRestart && shared != 0 {
			return 0, key, corrupt("restart entry at %d shares %d bytes", p, shared)
		}
		if shared > len(key) {
			return 0, key, corrupt("entry at %d shares %d bytes of a %d-byte key", p, shared, len(key))
		}
		delta := data[p+n : p+n+unshared]
		if ord != nil && entries > 0 {
			// Compare the new key with the previous one before overwriting it: the first
			// shared bytes are equal, so compare the rest. The new key is built in the buffer
			// past the previous one; grow the buffer so it fits there, or every such key
			// would be built in fresh memory.
			if need := len(key) + shared + len(delta); cap(key) < need {
				key = append(make([]byte, 0, 2*need), key...)
			}
			prev := key
			cur := append(key[len(key):len(key)], prev[:shared]...)
			cur = append(cur, delta...)
			if ord.compare(cur, prev) <= 0 {
				return 0, key, corrupt("keys out of order at entry %d (offset %d)", entries, p)
			}
			key = append(key[:0], cur...)
		} else {
			key = append(key[:shared], delta...)
		}
		entries++
		p += n + unshared + vlen
	}
	if next != b.numRestarts {
		return 0, key, corrupt("restart point %d at %d is not on an entry boundary or not increasing", next, b.restart(next))
	}
	return entries, key, nil
}

// RawEntry is one entry of a block as stored, for tools that show a table's layout.
type RawEntry struct {
	Offset   int    // offset of the entry in the block
	Restart  bool   // the entry is a restart point
	Shared   int    // bytes of the key taken from the previous key
	Unshared int    // bytes of the key stored in the entry
	Key      []byte // the whole key, rebuilt; valid only during the callback
	Value    []byte // the value, aliasing the block
}

// WalkBlock calls fn for each entry of the block contents (decompressed, without trailer, as
// Reader.ReadBlock returns them), in order, until fn returns false. It checks the block's
// structure first, without a key order, and returns a corruption error if it is malformed.
func WalkBlock(contents []byte, fn func(RawEntry) bool) error {
	return walkBlock(contents, "", 0, fn)
}

// walkBlock is WalkBlock with the file and block offset to name in errors.
func walkBlock(contents []byte, file string, off uint64, fn func(RawEntry) bool) error {
	if _, _, err := checkBlock(contents, nil, file, off, nil); err != nil {
		return err
	}
	b, _ := parseBlock(contents)
	var key []byte
	next := 0
	for p := 0; p < b.restartsOff; {
		e := RawEntry{Offset: p}
		if next < b.numRestarts && b.restart(next) == p {
			e.Restart = true
			next++
		}
		shared, unshared, vlen, n := decodeEntry(contents, p, b.restartsOff)
		key = append(key[:shared], contents[p+n:p+n+unshared]...)
		e.Shared, e.Unshared, e.Key = shared, unshared, key
		e.Value = contents[p+n+unshared : p+n+unshared+vlen]
		if !fn(e) {
			return nil
		}
		p += n + unshared + vlen
	}
	return nil
}
