package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/stratadb/strata/internal/keys"
)

// errBrokenPipe ends a command whose reader has gone away (`sstdump scan t.ldb | head`): run
// stops quietly, with the exit status found so far.
var errBrokenPipe = errors.New("broken pipe")

// output is stdout, buffered. Commands write whole lines and call ok after each unit of output
// (an entry, a record, a problem) to learn whether to go on: the first write error is kept, and
// a broken pipe ends the command quietly.
type output struct {
	w    *bufio.Writer
	sink *errWriter
}

// errWriter remembers the first error of the writer under the buffer.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

func newOutput(w io.Writer) *output {
	s := &errWriter{w: w}
	return &output{w: bufio.NewWriterSize(s, 64<<10), sink: s}
}

// write appends b to the output.
func (o *output) write(b []byte) { _, _ = o.w.Write(b) }

// str appends s to the output.
func (o *output) str(s string) { _, _ = o.w.WriteString(s) }

// err returns the output's error: errBrokenPipe when the reader went away, another write error,
// or nil.
func (o *output) err() error {
	err := o.sink.err
	if err == nil {
		return nil
	}
	if isBrokenPipe(err) {
		return errBrokenPipe
	}
	return &writeError{err}
}

// flush writes out the buffer and returns err.
func (o *output) flush() error {
	_ = o.w.Flush()
	return o.err()
}

// writeError is a failure to write the output (a full disk, say): exit status 2.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, errBrokenPipe)
}

// bytesFormat says how keys and values are printed.
type bytesFormat struct {
	hex      bool // lowercase hex instead of escapes
	maxValue int  // print at most this many bytes of a value (0: all)
}

// appendBytes appends b escaped: printable ASCII as is, a backslash as `\\`, any other byte as
// `\xNN` (keys.FormatUserKey's form); or, with hex, as lowercase hex digits.
func (f bytesFormat) appendBytes(dst, b []byte) []byte {
	if f.hex {
		return hex.AppendEncode(dst, b)
	}
	return appendEscaped(dst, b)
}

// appendValue appends a value as appendBytes does, cut after maxValue bytes with a note of how
// many bytes were left out: `abc...(+997 bytes)`.
func (f bytesFormat) appendValue(dst, v []byte) []byte {
	if f.maxValue <= 0 || len(v) <= f.maxValue {
		return f.appendBytes(dst, v)
	}
	dst = f.appendBytes(dst, v[:f.maxValue])
	dst = append(dst, "...(+"...)
	dst = strconv.AppendInt(dst, int64(len(v)-f.maxValue), 10)
	return append(dst, " bytes)"...)
}

const hexDigits = "0123456789abcdef"

// appendEscaped is keys.FormatUserKey without the allocation per byte.
func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		switch {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
		default:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// appendJSONBytes appends a JSON member for b: `"name":"text"` when b is printable UTF-8 text
// (and asHex is false), else `"name_hex":"6869"`. A reader tells the two apart by the name.
func appendJSONBytes(dst []byte, name string, b []byte, asHex bool) []byte {
	dst = append(dst, '"')
	dst = append(dst, name...)
	if asHex || !printable(b) {
		dst = append(dst, `_hex":"`...)
		dst = hex.AppendEncode(dst, b)
		return append(dst, '"')
	}
	dst = append(dst, `":`...)
	return appendJSONString(dst, b)
}

// printable reports whether b is valid UTF-8 made only of printable characters (letters,
// marks, numbers, punctuation, symbols and the ASCII space).
func printable(b []byte) bool {
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 || !unicode.IsPrint(r) {
			return false
		}
		b = b[n:]
	}
	return true
}

// appendJSONString appends b, printable UTF-8, as a JSON string: only `"` and `\` need escapes.
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// formatKey prints a key as scan does: user#seq,KIND for an internal key (user#BAD when it does
// not parse), the bytes alone for a raw key.
func formatKey(k []byte, internal bool, f bytesFormat) string {
	if !internal {
		return string(f.appendBytes(nil, k))
	}
	pk, ok := keys.Parse(k)
	if !ok {
		return string(f.appendBytes(nil, k)) + "#BAD"
	}
	b := f.appendBytes(nil, pk.UserKey)
	b = append(b, '#')
	b = strconv.AppendUint(b, uint64(pk.Seq), 10)
	b = append(b, ',')
	b = append(b, pk.Kind.String()...)
	return string(b)
}
