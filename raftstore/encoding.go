package raftstore

// The keys and values a Store writes into its DB; docs/format/raftlog.md specifies them byte
// by byte.
//
//	meta key    := 'm' name                 ; "mformat" -> formatValue
//	log key     := 'l' index:u64be          ; 9 bytes, so keys sort by index
//	stable key  := 's' key                  ; raft's key bytes, unchanged
//
//	entry       := version:u8 type:u8 flags:u8 term:uvarint appended? extensions? data
//	appended    := seconds:zigzag-varint nanos:uvarint   ; iff flags & flagAppended
//	extensions  := length:uvarint u8[length]             ; iff flags & flagExtensions, length > 0
//	data        := u8*                                   ; the rest of the value
//
// Every varint is written in the fewest bytes, and the decoder rejects any other form, so a
// value that decodes re-encodes to exactly the same bytes.

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/stratadb/strata/db"
)

// Never change these: they are on disk. A new layout of entries takes a new entryVersion (and
// the decoder keeps reading the old one); new prefixes must sort outside the existing ones.
const (
	prefixLog    = 'l'
	prefixMeta   = 'm'
	prefixStable = 's'

	logKeyLen = 1 + 8

	entryVersion   = 1
	flagAppended   = 1 << 0
	flagExtensions = 1 << 1
	flagsKnown     = flagAppended | flagExtensions

	entryHeaderLen = 3 // version, type, flags
)

var (
	// formatKey names the DB's layout; Open writes formatValue there in a new DB and refuses a
	// DB that holds another value, or none in a DB that is not empty.
	formatKey   = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	formatValue = []byte("strata-raftstore 1")

	// The bounds of the log's and the stable store's keys, for iterators: [lower, upper).
	logLower    = []byte{prefixLog}
	logUpper    = []byte{prefixLog + 1}
	stableLower = []byte{prefixStable}
	stableUpper = []byte{prefixStable + 1}
)

// corruptionError is the type of ErrCorruption. It also matches db.ErrCorruption, so that a
// caller that checks for damage in the DB finds damage in what the DB holds too.
type corruptionError struct{}

func (corruptionError) Error() string        { return "raftstore: corruption" }
func (corruptionError) Is(target error) bool { return target == db.ErrCorruption }

// ErrCorruption is wrapped by every error about bytes in the DB that the store did not write:
// a log entry that does not decode, a stable uint64 value that is not 8 bytes, a log key of
// the wrong length. errors.Is(err, db.ErrCorruption) holds for it too.
var ErrCorruption error = corruptionError{}

// appendLogKey appends the key of the log entry at index to dst.
func appendLogKey(dst []byte, index uint64) []byte {
	dst = append(dst, prefixLog)
	return binary.BigEndian.AppendUint64(dst, index)
}

// parseLogKey returns the index in a log key.
func parseLogKey(k []byte) (uint64, error) {
	if len(k) != logKeyLen || k[0] != prefixLog {
		return 0, fmt.Errorf("%w: log key %x is not %q and 8 bytes", ErrCorruption, k, prefixLog)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// appendStableKey appends the DB key of the stable store's key k to dst.
func appendStableKey(dst, k []byte) []byte {
	dst = append(dst, prefixStable)
	return append(dst, k...)
}

// appendEntry appends the encoding of l (all but its Index, which is in the key) to dst.
func appendEntry(dst []byte, l *raft.Log) []byte {
	var flags byte
	if !l.AppendedAt.IsZero() {
		flags |= flagAppended
	}
	if len(l.Extensions) > 0 {
		flags |= flagExtensions
	}
	dst = append(dst, entryVersion, byte(l.Type), flags)
	dst = binary.AppendUvarint(dst, l.Term)
	if flags&flagAppended != 0 {
		dst = binary.AppendVarint(dst, l.AppendedAt.Unix())
		dst = binary.AppendUvarint(dst, uint64(l.AppendedAt.Nanosecond()))
	}
	if flags&flagExtensions != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(l.Extensions)))
		dst = append(dst, l.Extensions...)
	}
	return append(dst, l.Data...)
}

// entryLen returns len(appendEntry(nil, l)) without encoding it, within a few bytes above.
func entryLen(l *raft.Log) int {
	return entryHeaderLen + binary.MaxVarintLen64*4 + len(l.Extensions) + len(l.Data)
}

// decodeEntry decodes the value v of the log entry at index into l. Data and Extensions alias
// v (empty ones are nil); AppendedAt is in the local time zone. It never panics: bad input
// gives an error wrapping ErrCorruption that names the index and the byte offset.
func decodeEntry(index uint64, v []byte, l *raft.Log) error {
	d := entryDecoder{index: index, v: v}
	if len(v) < entryHeaderLen {
		return d.errorf("%d bytes, shorter than the %d-byte header", len(v), entryHeaderLen)
	}
	if v[0] != entryVersion {
		return d.errorf("unknown version %d", v[0])
	}
	typ, flags := v[1], v[2]
	if flags&^flagsKnown != 0 {
		d.off = 2
		return d.errorf("unknown flags %#02x", flags)
	}
	d.off = entryHeaderLen
	term, err := d.uvarint("term")
	if err != nil {
		return err
	}
	var appended time.Time
	if flags&flagAppended != 0 {
		start := d.off
		sec, err := d.varint("appended seconds")
		if err != nil {
			return err
		}
		nsec, err := d.uvarint("appended nanoseconds")
		if err != nil {
			return err
		}
		if nsec >= uint64(time.Second) {
			d.off = start
			return d.errorf("appended nanoseconds %d not below 1e9", nsec)
		}
		appended = time.Unix(sec, int64(nsec))
		if appended.IsZero() {
			d.off = start
			return d.errorf("appended time is the zero time, which is written by leaving the flag out")
		}
	}
	var ext []byte
	if flags&flagExtensions != 0 {
		start := d.off
		n, err := d.uvarint("extensions length")
		if err != nil {
			return err
		}
		if rest := len(v) - d.off; n == 0 || n > uint64(rest) {
			d.off = start
			return d.errorf("extensions length %d: not in 1..%d, the bytes left", n, rest)
		}
		ext = v[d.off : d.off+int(n) : d.off+int(n)]
		d.off += int(n)
	}
	var data []byte
	if d.off < len(v) {
		data = v[d.off:len(v):len(v)]
	}
	*l = raft.Log{
		Index:      index,
		Term:       term,
		Type:       raft.LogType(typ),
		Data:       data,
		Extensions: ext,
		AppendedAt: appended,
	}
	return nil
}

// entryDecoder reads the fields of one entry, keeping the offset for errors.
type entryDecoder struct {
	index uint64
	v     []byte
	off   int
}

func (d *entryDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: log entry %d at byte %d: %s", ErrCorruption, d.index, d.off, fmt.Sprintf(format, args...))
}

// uvarint reads a minimal unsigned varint of at most 64 bits.
func (d *entryDecoder) uvarint(field string) (uint64, error) {
	x, n := binary.Uvarint(d.v[d.off:])
	switch {
	case n == 0:
		return 0, d.errorf("%s: cut off by the end of the entry", field)
	case n < 0:
		return 0, d.errorf("%s: varint overflows 64 bits", field)
	case n > 1 && d.v[d.off+n-1] == 0:
		return 0, d.errorf("%s: varint not in its shortest form", field)
	}
	d.off += n
	return x, nil
}

// varint reads a minimal zigzag varint of at most 64 bits.
func (d *entryDecoder) varint(field string) (int64, error) {
	ux, err := d.uvarint(field)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, err
}
