package sstable

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/golang/snappy"
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/vfs"
)

// A stored block is its contents followed by a BlockTrailerLen-byte trailer:
//
//	stored_block := contents trailer
//	trailer      := type:uint8 checksum:fixed32
//
// checksum is the masked crc32c of contents followed by the type byte; type says how contents
// are stored (0: as is, 1: one snappy block). A handle's size counts contents only.
//
// tableFile holds the checks that the format alone defines, on one file: a handle lies inside
// the file, the footer has the magic, a block's checksum matches, its compression type is known
// and its snappy data decodes to no more than maxSnappyRatio times its size. Reader and
// RawReader both read through it, so each check and each message exists once. Every error
// about the data is a *dberr.CorruptionError naming the file and an offset; its reason starts
// with what the caller calls the block ("index block: checksum mismatch: ...").

// tableFile is one table file, read with ReadAt or through a mapping of the whole file.
type tableFile struct {
	name   string
	f      vfs.File
	size   uint64
	mapped []byte // the file's bytes when mapped, else nil
}

// ErrNotTable is the cause (Unwrap) of the corruption error for a file whose last eight bytes
// are not Magic: it is not a table, or it has been cut short. errors.Is matches both it and
// dberr.ErrCorruption.
var ErrNotTable = errors.New("not a table, or the file is truncated")

func (t *tableFile) corruptf(off uint64, format string, args ...any) error {
	return dberr.Corruptf(t.name, int64(off), format, args...)
}

// footerOffset returns the offset of the footer, or a corruption error if the file is too
// short to hold one.
func (t *tableFile) footerOffset() (uint64, error) {
	if t.size < FooterLen {
		return 0, t.corruptf(0, "file of %d bytes is too short for the %d-byte footer (truncated footer)", t.size, FooterLen)
	}
	return t.size - FooterLen, nil
}

// readFooter reads and decodes the footer.
func (t *tableFile) readFooter() (Footer, error) {
	off, err := t.footerOffset()
	if err != nil {
		return Footer{}, err
	}
	raw, err := t.readAt(off, FooterLen, nil, "footer")
	if err != nil {
		return Footer{}, err
	}
	return decodeFooter(raw, t.name, int64(off))
}

// checkHandle reports whether the block at h and its trailer end at or before the footer. The
// error is reported at offset at (where the caller found the handle) and names the block as
// what.
func (t *tableFile) checkHandle(h BlockHandle, at uint64, what string) error {
	limit := uint64(0)
	if t.size > FooterLen {
		limit = t.size - FooterLen
	}
	if end, ok := h.end(); !ok || end > limit {
		return t.corruptf(at, "%s handle (offset %d, size %d) runs past the end of the blocks at %d", what, h.Offset, h.Size, limit)
	}
	return nil
}

// readAt returns n bytes at off, aliasing the mapping or read into buf (or a new buffer if
// buf is too small). A short read is corruption; another failure of the file is returned
// wrapped. Precondition: off+n <= t.size.
func (t *tableFile) readAt(off, n uint64, buf []byte, what string) ([]byte, error) {
	return t.readAtFrom(off, n, buf, what, t.mapped != nil)
}

// readAtFrom is readAt from the mapping when mapped (which requires one), else with ReadAt.
func (t *tableFile) readAtFrom(off, n uint64, buf []byte, what string, mapped bool) ([]byte, error) {
	if mapped {
		return t.mapped[off : off+n : off+n], nil
	}
	if uint64(cap(buf)) >= n {
		buf = buf[:n]
	} else {
		buf = make([]byte, n)
	}
	got, err := t.f.ReadAt(buf, int64(off))
	if uint64(got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, t.corruptf(off, "truncated %s: read %d of %d bytes", what, got, n)
		}
		return nil, dberr.Wrap(err, "read %s at offset %d", t.name, off)
	}
	return buf, nil
}

// readRaw returns the block's contents and trailer, as readAt does.
// Precondition: checkHandle(h) passed.
func (t *tableFile) readRaw(h BlockHandle, buf []byte, what string) ([]byte, error) {
	return t.readAt(h.Offset, h.Size+BlockTrailerLen, buf, what)
}

// readRawFrom is readRaw from the mapping when mapped, else with ReadAt.
func (t *tableFile) readRawFrom(h BlockHandle, buf []byte, what string, mapped bool) ([]byte, error) {
	return t.readAtFrom(h.Offset, h.Size+BlockTrailerLen, buf, what, mapped)
}

// verifyChecksum checks the trailer of raw (contents and trailer) read from h.
func (t *tableFile) verifyChecksum(raw []byte, h BlockHandle, what string) error {
	contents, trailer := raw[:h.Size], raw[h.Size:]
	want := crc.Unmask(coding.Fixed32(trailer[1:]))
	if got := crc.Extend(crc.Value(contents), trailer[:1]); got != want {
		return t.corruptf(h.Offset, "%s: checksum mismatch: stored %#08x, computed %#08x", what, want, got)
	}
	return nil
}

// decompress returns the uncompressed contents of raw (read from h), decompressing into dst if
// it is large enough (else into a new buffer). Contents stored as is alias raw.
func (t *tableFile) decompress(raw []byte, h BlockHandle, dst []byte, what string) ([]byte, error) {
	contents := raw[:h.Size:h.Size]
	switch typ := raw[h.Size]; typ {
	case typeNone:
		return contents, nil
	case typeSnappy:
		// The claimed length is checked before snappy sees it, so that the error is the same
		// where snappy refuses lengths past an int32 first (32-bit platforms).
		if claimed, k := binary.Uvarint(contents); k > 0 && claimed > uint64(len(contents))*maxSnappyRatio {
			return nil, t.corruptf(h.Offset, "%s: snappy block of %d bytes claims %d decoded bytes", what, len(contents), claimed)
		}
		n, err := snappy.DecodedLen(contents)
		if err != nil {
			return nil, t.corruptf(h.Offset, "%s: snappy: %v", what, err)
		}
		if cap(dst) >= n {
			dst = dst[:n]
		} else {
			dst = make([]byte, n)
		}
		out, err := snappy.Decode(dst, contents)
		if err != nil {
			return nil, t.corruptf(h.Offset, "%s: snappy: %v", what, err)
		}
		if len(out) != n {
			return nil, t.corruptf(h.Offset, "%s: snappy block decoded to %d bytes, claimed %d", what, len(out), n)
		}
		return out, nil // the full capacity stays with the buffer, for reuse
	default:
		return nil, t.corruptf(h.Offset, "%s: unknown compression type %d", what, typ)
	}
}

// readBlock reads the block at h and checks its handle (reported at h.Offset), its checksum and
// its compression. It returns the decompressed contents and the trailer's type byte (also
// with an error found after the trailer was read). With s == nil the contents are fresh memory,
// copied out of a mapping if need be; with s != nil they may alias the mapping or s's buffers,
// which readBlock grows as needed and keeps in s. It does not check the block's entries.
func (t *tableFile) readBlock(h BlockHandle, what string, s *blockScratch) (contents []byte, typ byte, err error) {
	if err := t.checkHandle(h, h.Offset, what); err != nil {
		return nil, 0, err
	}
	var readBuf, decBuf []byte
	if s != nil {
		readBuf, decBuf = s.read, s.dec
	}
	raw, err := t.readRaw(h, readBuf, what)
	if err != nil {
		return nil, 0, err
	}
	if s != nil && t.mapped == nil {
		s.read = raw
	}
	typ = raw[h.Size]
	if err := t.verifyChecksum(raw, h, what); err != nil {
		return nil, typ, err
	}
	if typ == typeNone && t.mapped != nil && s == nil {
		// Fresh memory outlives the mapping, which Reader.Close unmaps.
		return append([]byte(nil), raw[:h.Size]...), typ, nil
	}
	contents, err = t.decompress(raw, h, decBuf, what)
	if err != nil {
		return nil, typ, err
	}
	if s != nil && typ != typeNone {
		s.dec = contents
	}
	return contents, typ, nil
}
