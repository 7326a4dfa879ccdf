package keys

import (
	"fmt"
	"strconv"
	"strings"
)

// String returns the kind's short name: SET, DEL, or KIND(n) for an unknown kind.
func (k Kind) String() string {
	switch k {
	case KindSet:
		return "SET"
	case KindDelete:
		return "DEL"
	}
	return "KIND(" + strconv.Itoa(int(k)) + ")"
}

// FormatUserKey prints a user key compactly and stably: printable ASCII as is, a backslash as
// `\\`, every other byte as `\xNN`.
func FormatUserKey(k []byte) string {
	var sb strings.Builder
	for _, c := range k {
		switch {
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// String prints the key as `userkey#seq,KIND`, for example `apple#12,SET`.
func (pk ParsedKey) String() string {
	return FormatUserKey(pk.UserKey) + "#" + strconv.FormatUint(uint64(pk.Seq), 10) + "," + pk.Kind.String()
}

// FormatInternalKey prints an encoded internal key as ParsedKey.String does, or the raw bytes
// followed by "#BAD" when it is too short to hold a trailer.
func FormatInternalKey(ikey []byte) string {
	if len(ikey) < TrailerLen {
		return FormatUserKey(ikey) + "#BAD"
	}
	seq, kind := SplitTrailer(TrailerOf(ikey))
	return ParsedKey{UserKey: UserKey(ikey), Seq: seq, Kind: kind}.String()
}

// ParseDebug is the inverse of ParsedKey.String, for text-driven tests. It accepts kinds SET and
// DEL, and the escapes FormatUserKey writes.
func ParseDebug(s string) (ParsedKey, error) {
	hash := strings.LastIndexByte(s, '#')
	if hash < 0 {
		return ParsedKey{}, fmt.Errorf("keys: %q lacks #seq,KIND", s)
	}
	user, err := UnescapeUserKey(s[:hash])
	if err != nil {
		return ParsedKey{}, err
	}
	seqStr, kindStr, ok := strings.Cut(s[hash+1:], ",")
	if !ok {
		return ParsedKey{}, fmt.Errorf("keys: %q lacks ,KIND", s)
	}
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if err != nil || SeqNum(seq) > MaxSeqNum {
		return ParsedKey{}, fmt.Errorf("keys: bad sequence number in %q", s)
	}
	var kind Kind
	switch kindStr {
	case "SET":
		kind = KindSet
	case "DEL":
		kind = KindDelete
	default:
		return ParsedKey{}, fmt.Errorf("keys: unknown kind %q in %q", kindStr, s)
	}
	return ParsedKey{UserKey: user, Seq: SeqNum(seq), Kind: kind}, nil
}

// UnescapeUserKey turns a user key written as FormatUserKey writes it (\\ for a backslash,
// \xNN for any other byte not printed as itself) back into its bytes.
func UnescapeUserKey(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(s) && s[i+1] == 'x':
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("keys: bad escape in %q", s)
			}
			out = append(out, byte(v))
			i += 3
		default:
			return nil, fmt.Errorf("keys: bad escape in %q", s)
		}
	}
	return out, nil
}
