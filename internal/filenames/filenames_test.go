package filenames

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNames(t *testing.T) {
	require.Equal(t, "000007.log", Name(Log, 7))
	require.Equal(t, "000123.ldb", Name(Table, 123))
	require.Equal(t, "MANIFEST-000002", Name(Manifest, 2))
	require.Equal(t, "000009.dbtmp", Name(Temp, 9))
	require.Equal(t, "12345678.ldb", Name(Table, 12345678))
	require.Equal(t, "/d/000001.log", Path("/d", Log, 1))
	require.Equal(t, "/d/000004.sst", LegacyTablePath("/d", 4))
	require.Panics(t, func() { Name(Current, 1) })
}

func TestParseRoundTrip(t *testing.T) {
	for _, k := range []Kind{Log, Table, Manifest, Temp} {
		for _, n := range []uint64{0, 1, 999999, 1000000, math.MaxUint64} {
			gk, gn, ok := Parse(Name(k, n))
			require.True(t, ok, Name(k, n))
			require.Equal(t, k, gk)
			require.Equal(t, n, gn)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		num  uint64
		ok   bool
	}{
		{"CURRENT", Current, 0, true},
		{"LOCK", Lock, 0, true},
		{"LOG", InfoLog, 0, true},
		{"LOG.old", OldInfoLog, 0, true},
		{"000005.sst", Table, 5, true},
		{"100.log", Log, 100, true},
		{"MANIFEST-3", Manifest, 3, true},
		{"", Unknown, 0, false},
		{"foo", Unknown, 0, false},
		{"foo-dx-100.log", Unknown, 0, false},
		{".log", Unknown, 0, false},
		{"100", Unknown, 0, false},
		{"100.", Unknown, 0, false},
		{"100.lop", Unknown, 0, false},
		{"MANIFEST", Unknown, 0, false},
		{"MANIFEST-", Unknown, 0, false},
		{"MANIFEST-3x", Unknown, 0, false},
		{"XMANIFEST-3", Unknown, 0, false},
		{"CURRENTX", Unknown, 0, false},
		{"+1.log", Unknown, 0, false},
		{"18446744073709551616.log", Unknown, 0, false}, // overflows uint64
		{"184467440737095516150.log", Unknown, 0, false},
	}
	for _, c := range cases {
		k, n, ok := Parse(c.name)
		require.Equal(t, c.ok, ok, c.name)
		require.Equal(t, c.kind, k, c.name)
		require.Equal(t, c.num, n, c.name)
	}
	require.Equal(t, "table", Table.String())
	require.Equal(t, "unknown", Kind(99).String())
}
