//go:build cleveldb

package main

// Just enough of the table format to find bytes to patch: the footer, the index block's
// entries (leveldb writes it with restart interval 1, so every entry is a restart point) and
// block trailers. The base table is uncompressed, so blocks are read in place.

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stratadb/strata/internal/crc"
)

const (
	footerLen  = 48
	trailerLen = 5 // compression type + masked crc32c
)

// blockHandle locates a block's contents (without its trailer) in the file.
type blockHandle struct{ off, size uint64 }

// layout is what parse finds in a table.
type layout struct {
	index       blockHandle
	data        []blockHandle // the data blocks, in index order
	indexValues []uint64      // file offset of each index entry's value (an encoded handle),
	// when the index block is stored uncompressed
}

func uvarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, errors.New("bad varint")
	}
	return v, n, nil
}

func readHandle(b []byte) (blockHandle, int, error) {
	off, n1, err := uvarint(b)
	if err != nil {
		return blockHandle{}, 0, err
	}
	size, n2, err := uvarint(b[n1:])
	if err != nil {
		return blockHandle{}, 0, err
	}
	return blockHandle{off, size}, n1 + n2, nil
}

func putFixed32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }

// parse reads the footer and the index block of an uncompressed table.
func parse(f []byte) (layout, error) {
	var t layout
	if len(f) < footerLen {
		return t, errors.New("short file")
	}
	footer := f[len(f)-footerLen:]
	_, n, err := readHandle(footer) // metaindex
	if err != nil {
		return t, err
	}
	if t.index, _, err = readHandle(footer[n:]); err != nil {
		return t, err
	}
	block := f[t.index.off : t.index.off+t.index.size]
	switch f[t.index.off+t.index.size] {
	case 0:
	case 1:
		// A snappy index block: the handles are found, but indexValues are offsets into the
		// decompressed block, useless for patching (only uncompressed tables are patched).
		if block, err = unsnappy(block); err != nil {
			return t, err
		}
	default:
		return t, errors.New("unknown index block type")
	}
	nr := binary.LittleEndian.Uint32(block[len(block)-4:])
	restartsAt := len(block) - 4 - 4*int(nr)
	restarts := block[restartsAt : len(block)-4]
	for i := 0; i < int(nr); i++ {
		at := int(binary.LittleEndian.Uint32(restarts[4*i:]))
		if at >= restartsAt {
			break // an empty block still has one restart point, at offset 0
		}
		_, valueAt, err := entryAt(block, at)
		if err != nil {
			return t, fmt.Errorf("index entry %d: %w", i, err)
		}
		h, _, err := readHandle(block[valueAt:])
		if err != nil {
			return t, err
		}
		t.data = append(t.data, h)
		t.indexValues = append(t.indexValues, t.index.off+uint64(valueAt))
	}
	return t, nil
}

// entryAt decodes the block entry at offset at (shared, non_shared and value lengths, key
// delta, value) and returns the offsets of its key delta and its value within block.
func entryAt(block []byte, at int) (keyAt, valueAt int, err error) {
	p := at
	var lens [3]uint64
	for i := range lens {
		v, n, err := uvarint(block[p:])
		if err != nil {
			return 0, 0, err
		}
		lens[i] = v
		p += n
	}
	return p, p + int(lens[1]), nil
}

// putSameWidth overwrites the varint in b (which holds old) with v, which must encode to the
// same number of bytes, so nothing else in the file moves.
func putSameWidth(b []byte, old, v uint64) error {
	enc := binary.AppendUvarint(nil, v)
	if len(enc) != len(b) || len(binary.AppendUvarint(nil, old)) != len(b) {
		return fmt.Errorf("varint %d (%d bytes) cannot replace %d in %d bytes", v, len(enc), old, len(b))
	}
	copy(b, enc)
	return nil
}

// fixChecksum recomputes the masked crc32c in the trailer of block h (over the contents and the
// type byte), so that an edit inside the block or of its type is the only fault.
func fixChecksum(f []byte, h blockHandle) {
	end := h.off + h.size
	sum := crc.Value(f[h.off : end+1])
	binary.LittleEndian.PutUint32(f[end+1:end+trailerLen], crc.Mask(sum))
}

// blockTypes counts the data blocks of a table stored snappy-compressed and stored raw.
func blockTypes(f []byte) (compressed, raw int, err error) {
	t, err := parse(f)
	if err != nil {
		return 0, 0, err
	}
	for _, h := range t.data {
		if h.off+h.size >= uint64(len(f)) {
			return 0, 0, errors.New("block handle past the end")
		}
		switch f[h.off+h.size] {
		case 0:
			raw++
		case 1:
			compressed++
		default:
			return 0, 0, errors.New("unknown block type")
		}
	}
	return compressed, raw, nil
}

// unsnappy decodes a snappy block (the format of github.com/google/snappy's
// format_description.txt): the decoded length as a varint, then literals and back-references.
// It serves this generator only, on tables leveldb just wrote.
func unsnappy(src []byte) ([]byte, error) {
	n, p, err := uvarint(src)
	if err != nil {
		return nil, err
	}
	bad := errors.New("bad snappy data")
	dst := make([]byte, 0, n)
	for p < len(src) {
		tag := src[p]
		var length, offset int
		switch tag & 3 {
		case 0: // literal; lengths of 61+ follow the tag in 1-4 bytes
			length = int(tag >> 2)
			p++
			if length >= 60 {
				nb := length - 59
				if p+nb > len(src) {
					return nil, bad
				}
				length = 0
				for i := nb - 1; i >= 0; i-- {
					length = length<<8 | int(src[p+i])
				}
				p += nb
			}
			length++
			if p+length > len(src) {
				return nil, bad
			}
			dst = append(dst, src[p:p+length]...)
			p += length
			continue
		case 1: // copy with an 11-bit offset
			if p+2 > len(src) {
				return nil, bad
			}
			length = 4 + int(tag>>2)&7
			offset = int(tag&0xe0)<<3 | int(src[p+1])
			p += 2
		case 2: // copy with a 16-bit offset
			if p+3 > len(src) {
				return nil, bad
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint16(src[p+1:]))
			p += 3
		case 3: // copy with a 32-bit offset
			if p+5 > len(src) {
				return nil, bad
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint32(src[p+1:]))
			p += 5
		}
		if offset <= 0 || offset > len(dst) {
			return nil, bad
		}
		for i := 0; i < length; i++ { // byte by byte: a copy may overlap its own output
			dst = append(dst, dst[len(dst)-offset])
		}
	}
	if uint64(len(dst)) != n {
		return nil, bad
	}
	return dst, nil
}
