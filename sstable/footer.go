package sstable

import (
	"fmt"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
)

// The footer is the last FooterLen bytes of a table:
//
//	footer := metaindex:handle index:handle zero-padding magic:fixed64
//
// The two handles and the padding fill exactly 40 bytes. The padding is not checked on read
// (leveldb does not check it either).

// Footer holds the two handles that the footer of a table points at.
type Footer struct {
	Metaindex BlockHandle
	Index     BlockHandle
}

// appendTo appends the FooterLen-byte encoding of f.
func (f Footer) appendTo(dst []byte) []byte {
	start := len(dst)
	dst = f.Metaindex.AppendTo(dst)
	dst = f.Index.AppendTo(dst)
	for len(dst)-start < FooterLen-8 {
		dst = append(dst, 0)
	}
	return coding.AppendFixed64(dst, Magic)
}

// decodeFooter decodes the footer in b, which must be the last FooterLen bytes of the file;
// off is their offset, for errors. A bad magic number is a corruption error whose cause is
// ErrNotTable.
func decodeFooter(b []byte, file string, off int64) (Footer, error) {
	if len(b) != FooterLen {
		return Footer{}, dberr.Corruptf(file, off, "truncated footer: %d bytes, want %d", len(b), FooterLen)
	}
	if m := coding.Fixed64(b[FooterLen-8:]); m != Magic {
		return Footer{}, &dberr.CorruptionError{File: file, Offset: off, Err: ErrNotTable,
			Reason: fmt.Sprintf("bad magic number %#016x, want %#016x", m, Magic)}
	}
	var f Footer
	n1 := 0
	if f.Metaindex, n1 = decodeHandle(b[:FooterLen-8]); n1 <= 0 {
		return Footer{}, dberr.Corruptf(file, off, "bad metaindex handle in footer")
	}
	n2 := 0
	if f.Index, n2 = decodeHandle(b[n1 : FooterLen-8]); n2 <= 0 {
		return Footer{}, dberr.Corruptf(file, off, "bad index handle in footer")
	}
	return f, nil
}
