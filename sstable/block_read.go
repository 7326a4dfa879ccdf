package sstable

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/golang/snappy"
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
)

// Reading a block, in order:
//  1. The handle is checked against the file: the block and its trailer must end before the
//     footer. A lying handle is corruption, found before anything is read or allocated.
//  2. The bytes are taken from the mapping or read with ReadAt into a buffer of the handle's
//     size (bounded by the file's size).
//  3. The masked crc32c in the trailer is checked against the contents and the type byte.
//  4. The contents are decompressed: a snappy block's claimed length is checked against
//     maxSnappyRatio before the output buffer is allocated.
//  5. The block's structure (restart array, entry lengths, key order) is validated once per
//     Reader and block; a bitmap over the index entries records which blocks passed.
//
// Data blocks that are uncompressed in a mapped file are served straight from the mapping;
// steps 3 and 5 then run on first use and step 3 again only with ReadOptions.VerifyChecksums.
// Every other data block comes from the cache when it is there, and otherwise goes through all
// steps and, unless DontFillCache, into the cache.

// blockScratch holds an iterator's reusable buffers for blocks that are not cached; the
// iterator overwrites them when it moves to another block.
type blockScratch struct {
	read []byte
	dec  []byte
}

func (r *Reader) corruptf(off uint64, format string, args ...any) error {
	return dberr.Corruptf(r.name, int64(off), format, args...)
}

// checkHandle reports whether h lies inside the file, before the footer.
func (r *Reader) checkHandle(h BlockHandle, what string) error {
	end, ok := h.end()
	if !ok || end > r.size-FooterLen {
		return r.corruptf(h.Offset, "%s handle (offset %d, size %d) runs past the end of the blocks at %d", what, h.Offset, h.Size, r.size-FooterLen)
	}
	return nil
}

// readRaw returns the block's contents and trailer. From the mapping it aliases the mapping;
// otherwise it reads into buf if that is large enough, else into a new buffer.
// Precondition: checkHandle(h) passed.
func (r *Reader) readRaw(h BlockHandle, buf []byte) ([]byte, error) {
	return r.readAt(h.Offset, h.Size+BlockTrailerLen, buf, "block")
}

// readAt returns n bytes at off, aliasing the mapping or read into buf (or a new buffer if
// buf is too small). Precondition: off+n <= r.size.
func (r *Reader) readAt(off, n uint64, buf []byte, what string) ([]byte, error) {
	if r.mapped != nil {
		return r.mapped[off : off+n : off+n], nil
	}
	if uint64(cap(buf)) >= n {
		buf = buf[:n]
	} else {
		buf = make([]byte, n)
	}
	got, err := r.f.ReadAt(buf, int64(off))
	if uint64(got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, r.corruptf(off, "truncated %s: read %d of %d bytes", what, got, n)
		}
		return nil, dberr.Wrap(err, "read %s at offset %d", r.name, off)
	}
	return buf, nil
}

// verifyChecksum checks the trailer of raw (contents and trailer).
func (r *Reader) verifyChecksum(raw []byte, h BlockHandle) error {
	contents, trailer := raw[:h.Size], raw[h.Size:]
	want := crc.Unmask(coding.Fixed32(trailer[1:]))
	if got := crc.Extend(crc.Value(contents), trailer[:1]); got != want {
		return r.corruptf(h.Offset, "block checksum mismatch: stored %#08x, computed %#08x", want, got)
	}
	return nil
}

// decompress returns the uncompressed contents of raw, decompressing into dst if it is large
// enough (else into a new buffer).
func (r *Reader) decompress(raw []byte, h BlockHandle, dst []byte) ([]byte, error) {
	contents := raw[:h.Size:h.Size]
	switch t := raw[h.Size]; t {
	case typeNone:
		return contents, nil
	case typeSnappy:
		// The claimed length is checked before snappy sees it, so that the error is the same
		// where snappy refuses lengths past an int32 first (32-bit platforms).
		if claimed, k := binary.Uvarint(contents); k > 0 && claimed > uint64(len(contents))*maxSnappyRatio {
			return nil, r.corruptf(h.Offset, "snappy block of %d bytes claims %d decoded bytes", len(contents), claimed)
		}
		n, err := snappy.DecodedLen(contents)
		if err != nil {
			return nil, r.corruptf(h.Offset, "snappy block: %v", err)
		}
		if cap(dst) >= n {
			dst = dst[:n]
		} else {
			dst = make([]byte, n)
		}
		out, err := snappy.Decode(dst, contents)
		if err != nil {
			return nil, r.corruptf(h.Offset, "snappy block: %v", err)
		}
		if len(out) != n {
			return nil, r.corruptf(h.Offset, "snappy block decoded to %d bytes, claimed %d", len(out), n)
		}
		return out, nil // the full capacity stays with the buffer, for reuse by iterators
	default:
		return nil, r.corruptf(h.Offset, "unknown block compression type %d", t)
	}
}

// readMetaBlock reads, verifies and decompresses a non-data block (index, metaindex, filter)
// into fresh memory.
func (r *Reader) readMetaBlock(h BlockHandle, what string) ([]byte, error) {
	if err := r.checkHandle(h, what); err != nil {
		return nil, err
	}
	raw, err := r.readRaw(h, nil)
	if err != nil {
		return nil, err
	}
	if err := r.verifyChecksum(raw, h); err != nil {
		return nil, err
	}
	if raw[h.Size] == typeNone && r.mapped != nil {
		// Pinned for the Reader's life: copy out of the mapping so the block outlives Close.
		return append([]byte(nil), raw[:h.Size]...), nil
	}
	return r.decompress(raw, h, nil)
}

func (r *Reader) isChecked(i int) bool {
	return r.checked[i/32].Load()&(1<<(i%32)) != 0
}

func (r *Reader) setChecked(i int) { r.checked[i/32].Or(1 << (i % 32)) }

// checkOnce validates the structure of data block i the first time this Reader uses it.
func (r *Reader) checkOnce(i int, contents []byte, h BlockHandle) error {
	if r.isChecked(i) {
		return nil
	}
	p, _ := r.kbufPool.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	_, kbuf, err := checkBlock(contents, &r.ord, r.name, h.Offset, *p)
	*p = kbuf
	r.kbufPool.Put(p)
	if err != nil {
		return err
	}
	r.setChecked(i)
	return nil
}

// dataBlock returns the contents of data block i (the i'th index entry, handle h), verified.
// With s == nil the result is fresh memory, the cache or the mapping, safe to hand out for the
// Reader's life; with s != nil a block that is not cached may live in s's buffers.
func (r *Reader) dataBlock(i int, h BlockHandle, ro ReadOptions, s *blockScratch) ([]byte, error) {
	if r.mapped != nil {
		raw := r.mapped[h.Offset : h.Offset+h.Size+BlockTrailerLen]
		if raw[h.Size] == typeNone {
			first := !r.isChecked(i)
			if first || ro.VerifyChecksums {
				if err := r.verifyChecksum(raw, h); err != nil {
					return nil, err
				}
			}
			contents := raw[:h.Size:h.Size]
			if first {
				if err := r.checkOnce(i, contents, h); err != nil {
					return nil, err
				}
			}
			return contents, nil
		}
	}
	if r.cache != nil {
		if b, ok := r.cache.Get(r.fileNum, h.Offset); ok {
			return b, nil
		}
	}
	fill := r.cache != nil && !ro.DontFillCache
	var readBuf, decBuf []byte
	if s != nil && !fill {
		readBuf, decBuf = s.read, s.dec
	}
	raw, err := r.readRaw(h, readBuf)
	if err != nil {
		return nil, err
	}
	if s != nil && !fill && r.mapped == nil {
		s.read = raw
	}
	if err := r.verifyChecksum(raw, h); err != nil {
		return nil, err
	}
	contents, err := r.decompress(raw, h, decBuf)
	if err != nil {
		return nil, err
	}
	if s != nil && !fill && raw[h.Size] != typeNone {
		s.dec = contents
	}
	if err := r.checkOnce(i, contents, h); err != nil {
		return nil, err
	}
	if fill {
		r.cache.Set(r.fileNum, h.Offset, contents)
	}
	return contents, nil
}
