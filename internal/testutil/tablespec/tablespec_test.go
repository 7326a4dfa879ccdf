package tablespec

import (
	"bytes"
	"fmt"
	"hash/crc64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
)

func TestEntriesSortedAndComplete(t *testing.T) {
	icmp := keys.NewInternalComparator(keys.Bytewise)
	for _, s := range append(Specs(), BrokenBase()) {
		t.Run(s.Name, func(t *testing.T) {
			es := s.Entries()
			cmp := bytes.Compare
			if s.InternalKeys {
				cmp = icmp.Compare
			}
			users := map[string]bool{}
			for i, e := range es {
				if i > 0 {
					require.Negative(t, cmp(es[i-1].Key, e.Key), "entry %d out of order", i)
				}
				uk := e.Key
				if s.InternalKeys {
					pk, ok := keys.Parse(e.Key)
					require.True(t, ok)
					uk = pk.UserKey
					if pk.Kind == keys.KindDelete {
						require.Empty(t, e.Value)
					}
				}
				users[string(uk)] = true
			}
			want := s.N + len(s.Big)
			if s.EmptyKey {
				want++
			}
			require.Len(t, users, want)
			if s.EmptyKey {
				require.True(t, users[""])
			}
		})
	}
}

func TestAbsentKeysAreAbsent(t *testing.T) {
	for _, s := range Specs() {
		t.Run(s.Name, func(t *testing.T) {
			present := map[string]bool{}
			for _, e := range s.Entries() {
				if s.InternalKeys {
					present[string(keys.UserKey(e.Key))] = true
				} else {
					present[string(e.Key)] = true
				}
			}
			abs := s.AbsentKeys(2000)
			require.Len(t, abs, 2000)
			seen := map[string]bool{}
			for _, k := range abs {
				require.False(t, present[string(k)], "%q is present", k)
				require.False(t, seen[string(k)], "%q twice", k)
				seen[string(k)] = true
			}
			require.Equal(t, abs, s.AbsentKeys(2000), "not deterministic")
		})
	}
}

func TestSpecNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		require.False(t, seen[s.Name], s.Name)
		seen[s.Name] = true
	}
	for _, b := range BrokenFixtures() {
		require.False(t, seen[b.Name], b.Name)
		seen[b.Name] = true
	}
}

// TestEntriesGolden pins the formula: the fixtures on disk were written from these entries, so
// any change here means the fixtures must be regenerated (and this table updated with them).
func TestEntriesGolden(t *testing.T) {
	want := map[string]string{
		"empty":             "0 entries, crc64 0000000000000000",
		"single-empty-key":  "1 entries, crc64 7feb6602f55a2c08",
		"plain":             "1000 entries, crc64 5a346a594bef29c2",
		"snappy":            "1000 entries, crc64 293392394f483846",
		"bloom":             "1000 entries, crc64 9425ca379da9d91b",
		"snappy-bloom-many": "10000 entries, crc64 0a476089a4df0d90",
		"restart1":          "500 entries, crc64 175b9c993174aa15",
		"block1k":           "2000 entries, crc64 e8c99d280bf50fb8",
		"bigkeys":           "306 entries, crc64 cdda8953646375b7",
		"bigvalues-snappy":  "205 entries, crc64 24719e2b1ab979f2",
		"internal-keys":     "2998 entries, crc64 22b3f0f5bd0e05ab",
		"base":              "300 entries, crc64 d64b45f58d46d612",
	}
	tab := crc64.MakeTable(crc64.ECMA)
	got := map[string]string{}
	for _, s := range append(Specs(), BrokenBase()) {
		h := crc64.New(tab)
		n := 0
		for _, e := range s.Entries() {
			fmt.Fprintf(h, "%d:%s=%d:%s;", len(e.Key), e.Key, len(e.Value), e.Value)
			n++
		}
		got[s.Name] = fmt.Sprintf("%d entries, crc64 %016x", n, h.Sum64())
	}
	if !assert.Equal(t, want, got) {
		for _, s := range append(Specs(), BrokenBase()) {
			t.Logf("%q: %q,", s.Name, got[s.Name])
		}
	}
}
