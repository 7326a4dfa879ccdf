package opsfile

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	got, err := Parse(strings.NewReader("# comment\n\nempty\ntwo put k 3 del d\nthree del x put y 2\n"))
	require.NoError(t, err)
	// Values: batch 1 item 0 is 'a' + (j + 3) % 26; batch 2 item 1 is 'a' + (j + 7) % 26.
	require.Equal(t, []Batch{
		{Label: "empty"},
		{Label: "two", Ops: []Op{{Put: true, Key: "k", Value: []byte("def")}, {Key: "d"}}},
		{Label: "three", Ops: []Op{{Key: "x"}, {Put: true, Key: "y", Value: []byte("hi")}}},
	}, got)
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"l put k", "l put k x", "l put k -1", "l del", "l get k"} {
		_, err := Parse(strings.NewReader(in))
		require.Error(t, err, in)
	}
}

func TestReadFixture(t *testing.T) {
	batches := Read(t, filepath.Join("..", "..", "..", "wal", "testdata", "leveldb-1.23", "ops.txt"))
	require.NotEmpty(t, batches)
}
