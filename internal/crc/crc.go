// Package crc computes CRC-32C (Castagnoli) checksums and leveldb's masked form of them.
//
// leveldb stores checksums of data that may itself contain checksums (a log record holding a
// table block, say). Computing the CRC of a string that embeds its own CRC is prone to trivial
// collisions, so every stored checksum is masked: rotated right by 15 bits and offset by a
// constant. Invariant: Unmask(Mask(c)) == c for every c, and the values written to disk are
// always masked.
package crc

import "hash/crc32"

// maskDelta is the constant leveldb adds when masking; part of the on-disk format, never change.
const maskDelta = 0xa282ead8

var table = crc32.MakeTable(crc32.Castagnoli)

// Value returns the CRC-32C of b.
func Value(b []byte) uint32 { return crc32.Checksum(b, table) }

// Extend returns the CRC-32C of the concatenation of the bytes that gave init and b.
func Extend(init uint32, b []byte) uint32 { return crc32.Update(init, table, b) }

// Mask returns the form of c that is stored on disk.
func Mask(c uint32) uint32 { return (c>>15 | c<<17) + maskDelta }

// Unmask inverts Mask.
func Unmask(m uint32) uint32 {
	r := m - maskDelta
	return r>>17 | r<<15
}
