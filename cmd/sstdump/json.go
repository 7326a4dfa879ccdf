package main

import (
	"strconv"
	"unicode/utf8"

	"github.com/stratadb/strata/internal/keys"
)

// jsonWriter builds the JSON objects of --format=json, one per output line, with members in the
// order they are added, so that output is stable and reads well. Containers are opened and
// closed explicitly; the writer puts the commas.
type jsonWriter struct {
	b     []byte
	comma []bool // per open container: whether the next member or element needs a comma
}

// sep writes the comma before a member or element, and the member's name if it has one.
func (w *jsonWriter) sep(name string) {
	if n := len(w.comma); n > 0 {
		if w.comma[n-1] {
			w.b = append(w.b, ',')
		}
		w.comma[n-1] = true
	}
	if name != "" {
		w.b = appendJSONText(w.b, name)
		w.b = append(w.b, ':')
	}
}

// object opens an object: a member called name, or (name "") an array element or a line.
func (w *jsonWriter) object(name string) {
	w.sep(name)
	w.b = append(w.b, '{')
	w.comma = append(w.comma, false)
}

// array opens an array member.
func (w *jsonWriter) array(name string) {
	w.sep(name)
	w.b = append(w.b, '[')
	w.comma = append(w.comma, false)
}

func (w *jsonWriter) endObject() { w.end('}') }
func (w *jsonWriter) endArray()  { w.end(']') }

func (w *jsonWriter) end(c byte) {
	w.comma = w.comma[:len(w.comma)-1]
	w.b = append(w.b, c)
}

func (w *jsonWriter) str(name, v string) {
	w.sep(name)
	w.b = appendJSONText(w.b, v)
}

func (w *jsonWriter) uint(name string, v uint64) {
	w.sep(name)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *jsonWriter) int(name string, v int64) {
	w.sep(name)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonWriter) bool(name string, v bool) {
	w.sep(name)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonWriter) null(name string) {
	w.sep(name)
	w.b = append(w.b, "null"...)
}

// float writes v with prec digits after the point.
func (w *jsonWriter) float(name string, v float64, prec int) {
	w.sep(name)
	w.b = strconv.AppendFloat(w.b, v, 'f', prec, 64)
}

// bytes writes b as the member name (printable text) or name_hex (hex digits), as scan's JSON
// does; asHex forces the second form.
func (w *jsonWriter) bytes(name string, b []byte, asHex bool) {
	w.sep("")
	w.b = appendJSONBytes(w.b, name, b, asHex)
}

// key writes a key as an object member: {"key":..} for a raw key; {"key":..,"seq":N,
// "kind":"SET"} for an internal key, with the user key under "key"; {"key":..,"kind":"BAD"} for
// an internal key that does not parse.
func (w *jsonWriter) key(name string, k []byte, internal, asHex bool) {
	w.object(name)
	w.keyMembers(k, internal, asHex)
	w.endObject()
}

// keyMembers writes key's members into the open object.
func (w *jsonWriter) keyMembers(k []byte, internal, asHex bool) {
	if !internal {
		w.bytes("key", k, asHex)
		return
	}
	pk, ok := keys.Parse(k)
	if !ok {
		w.bytes("key", k, asHex)
		w.str("kind", "BAD")
		return
	}
	w.bytes("key", pk.UserKey, asHex)
	w.uint("seq", uint64(pk.Seq))
	w.str("kind", pk.Kind.String())
}

// line returns the object built so far as a line, and resets the writer.
func (w *jsonWriter) line() []byte {
	out := append(w.b, '\n')
	w.b, w.comma = out[:0], w.comma[:0]
	return out
}

// appendJSONText appends s as a JSON string. Invalid UTF-8 becomes U+FFFD (file names are the
// only text that can hold it); control characters are escaped.
func appendJSONText(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20 || c == 0x7f:
				dst = append(dst, `\u00`...)
				dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
