package raftstore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
)

// entryCases are logs whose every field differs from the zero value somewhere, with the
// extremes of each.
func entryCases() []raft.Log {
	return []raft.Log{
		{},
		{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte("x")},
		{Index: 2, Term: 3, Type: raft.LogNoop},
		{Index: 3, Term: 4, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{0xab}, 5000), Extensions: []byte("ext")},
		{Index: math.MaxUint64, Term: math.MaxUint64, Type: raft.LogType(255), Data: []byte{0}, Extensions: []byte{0}},
		{Index: 7, Term: 2, Type: raft.LogBarrier, AppendedAt: time.Unix(1700000000, 123456789)},
		{Index: 8, Term: 2, AppendedAt: time.Unix(-5, 999999999), Extensions: bytes.Repeat([]byte{1}, 300)},
		{Index: 9, Term: 9, AppendedAt: time.Now().Round(0), Data: []byte("now")},
		{Index: 10, AppendedAt: time.Unix(math.MaxInt64, 999999999)},
		{Index: 11, AppendedAt: time.Unix(math.MinInt64, 0)},
		{Index: 12, AppendedAt: time.Time{}.Add(time.Nanosecond)},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, l := range entryCases() {
		v := appendEntry(nil, &l)
		require.LessOrEqual(t, len(v), entryLen(&l))
		var got raft.Log
		require.NoError(t, decodeEntry(l.Index, v, &got))
		requireSameLog(t, l, got)
		require.Equal(t, v, appendEntry(nil, &got), "re-encoding gives other bytes")
	}
}

// requireSameLog requires a and b to hold the same entry: empty and nil slices are the same,
// and times are compared as instants.
func requireSameLog(t testing.TB, want, got raft.Log) {
	t.Helper()
	require.Equal(t, want.Index, got.Index)
	require.Equal(t, want.Term, got.Term)
	require.Equal(t, want.Type, got.Type)
	require.True(t, bytes.Equal(want.Data, got.Data), "Data: want %q, got %q", want.Data, got.Data)
	require.True(t, bytes.Equal(want.Extensions, got.Extensions), "Extensions: want %q, got %q", want.Extensions, got.Extensions)
	require.True(t, want.AppendedAt.Equal(got.AppendedAt), "AppendedAt: want %v, got %v", want.AppendedAt, got.AppendedAt)
	require.Equal(t, want.AppendedAt.IsZero(), got.AppendedAt.IsZero())
}

// TestEntryLayout pins the worked examples of docs/format/raftlog.md.
func TestEntryLayout(t *testing.T) {
	for _, tc := range []struct {
		l   raft.Log
		hex string
	}{
		{raft.Log{Index: 5, Term: 2, Type: raft.LogCommand, Data: []byte("hi")}, "01 00 00 02 6869"},
		{raft.Log{Index: 6, Term: 300, Type: raft.LogConfiguration,
			AppendedAt: time.Unix(1700000000, 500), Extensions: []byte{0xee}, Data: []byte("cfg")},
			"01 05 03 ac02 80c49fd50c f403 01ee 636667"},
	} {
		want, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
		require.NoError(t, err)
		require.Equal(t, want, appendEntry(nil, &tc.l))
	}
	require.Equal(t, []byte{'l', 0, 0, 0, 0, 0, 0, 1, 0x2c}, appendLogKey(nil, 300))
	require.Equal(t, []byte("sCurrentTerm"), appendStableKey(nil, []byte("CurrentTerm")))
}

// TestDecodeEntryErrors: each way an entry can be damaged is refused with an error wrapping
// ErrCorruption (and db.ErrCorruption) that names the entry and the byte.
func TestDecodeEntryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, hex, msg string
	}{
		{"Empty", "", "at byte 0: 0 bytes, shorter than the 3-byte header"},
		{"ShortHeader", "0100", "shorter than the 3-byte header"},
		{"UnknownVersion", "020000 01", "at byte 0: unknown version 2"},
		{"UnknownFlags", "010004 01", "at byte 2: unknown flags 0x04"},
		{"TermMissing", "010000", "at byte 3: term: cut off"},
		{"TermCutOff", "010000 80", "term: cut off"},
		{"TermOverflow", "010000 ffffffffffffffffff02", "term: varint overflows 64 bits"},
		{"TermNotShortest", "010000 8000", "at byte 3: term: varint not in its shortest form"},
		{"AppendedMissing", "010001 01", "at byte 4: appended seconds: cut off"},
		{"NanosMissing", "010001 01 02", "appended nanoseconds: cut off"},
		{"NanosTooLarge", "010001 01 02 8094ebdc03", "at byte 4: appended nanoseconds 1000000000 not below 1e9"},
		{"ZeroTime", "010001 01 ffdb8ff9ce03 00", "appended time is the zero time"},
		{"SecondsNotShortest", "010001 01 8200 00", "appended seconds: varint not in its shortest form"},
		{"ExtensionsMissing", "010002 01", "extensions length: cut off"},
		{"ExtensionsEmpty", "010002 01 00", "at byte 4: extensions length 0: not in 1..0"},
		{"ExtensionsPastEnd", "010002 01 03 aabb", "extensions length 3: not in 1..2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
			require.NoError(t, err)
			var l raft.Log
			err = decodeEntry(42, v, &l)
			require.ErrorIs(t, err, ErrCorruption)
			require.ErrorIs(t, err, db.ErrCorruption)
			require.ErrorContains(t, err, "log entry 42 ")
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestParseLogKey(t *testing.T) {
	i, err := parseLogKey(appendLogKey(nil, 1<<40+3))
	require.NoError(t, err)
	require.Equal(t, uint64(1<<40+3), i)
	for _, k := range [][]byte{nil, {'l'}, {'l', 0, 0, 0, 0, 0, 0, 0, 0, 0}, {'s', 0, 0, 0, 0, 0, 0, 0, 1}} {
		_, err := parseLogKey(k)
		require.ErrorIs(t, err, ErrCorruption, "%x", k)
	}
}

// FuzzDecodeEntry decodes any bytes as a log entry: it must return an error wrapping
// ErrCorruption or an entry that encodes back to exactly the input (the encoding is
// canonical), and never panic. Seeded with the encodings of entryCases. Run it with
// go test -run '^$' -fuzz '^FuzzDecodeEntry$' -fuzztime 30s . in raftstore/.
func FuzzDecodeEntry(f *testing.F) {
	for _, l := range entryCases() {
		f.Add(appendEntry(nil, &l))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 3, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		var l raft.Log
		err := decodeEntry(7, v, &l)
		if err != nil {
			if !errors.Is(err, ErrCorruption) {
				t.Fatalf("error not wrapping ErrCorruption: %v", err)
			}
			return
		}
		if l.Index != 7 {
			t.Fatalf("index %d, not the key's 7", l.Index)
		}
		if got := appendEntry(nil, &l); !bytes.Equal(got, v) {
			t.Fatalf("decoded %+v re-encodes to %x, not %x", l, got, v)
		}
	})
}
