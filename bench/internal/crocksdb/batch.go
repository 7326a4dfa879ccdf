//go:build crocksdb

package crocksdb

import "encoding/binary"

// batchHeader is the size of a WriteBatch's header: a fixed64 sequence number, which the write
// assigns, and a fixed32 count of records.
const batchHeader = 12

// Batch collects puts and deletes for (*DB).Write, which applies them atomically. The zero
// value is an empty batch. The entries are encoded in Go memory as RocksDB's WriteBatch
// records (leveldb's: tag 1 put, varint32 key length, key, varint32 value length, value; tag 0
// delete, varint32 key length, key) after the header, and cross to C as one buffer.
type Batch struct {
	rep []byte // header and records; empty until the first entry
	n   int
}

// Put appends a put of key with value.
func (b *Batch) Put(key, value []byte) {
	b.grow()
	b.rep = append(b.rep, 1)
	b.rep = appendSlice(b.rep, key)
	b.rep = appendSlice(b.rep, value)
	b.n++
}

// Delete appends a deletion of key.
func (b *Batch) Delete(key []byte) {
	b.grow()
	b.rep = append(b.rep, 0)
	b.rep = appendSlice(b.rep, key)
	b.n++
}

// Len returns the number of entries in the batch.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch, keeping its buffer.
func (b *Batch) Reset() {
	b.rep = b.rep[:0]
	b.n = 0
}

// grow makes room for the header before the first entry.
func (b *Batch) grow() {
	if len(b.rep) == 0 {
		b.rep = append(b.rep, make([]byte, batchHeader)...)
	}
}

// encoded returns the batch as a WriteBatch's encoding, its count filled in.
func (b *Batch) encoded() []byte {
	b.grow()
	binary.LittleEndian.PutUint32(b.rep[8:batchHeader], uint32(b.n))
	return b.rep
}

// appendSlice appends s prefixed by its length as a varint32.
func appendSlice(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
