//go:build cleveldb

package main

// Just enough of the table format to find bytes to patch: the footer, the index block's
// entries (leveldb writes it with restart interval 1, so every entry is a restart point) and
// block trailers. The base table is uncompressed, so blocks are read in place.

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/golang/snappy"
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
		if block, err = snappy.Decode(nil, block); err != nil {
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
