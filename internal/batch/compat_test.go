package batch

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/wal"
)

// The write-ahead log C++ leveldb 1.23 wrote, and the list of batches its generator
// (wal/testdata/gen_log_fixture.cc) issued, one per line.
var fixtureDir = filepath.Join("..", "..", "wal", "testdata", "leveldb-1.23")

// fixtureBatches parses ops.txt into the entries of each batch. Line n (counting from 0, comments
// skipped) holds a label and then "put KEY LEN" or "del KEY" items; value byte j of item i is
// 'a' + (j + 3n + i) % 26.
func fixtureBatches(t *testing.T) [][]op {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, "ops.txt"))
	require.NoError(t, err)
	defer f.Close()
	var out [][]op
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n := len(out)
		items := strings.Fields(line)[1:]
		var ops []op
		for len(items) > 0 {
			i := len(ops)
			switch items[0] {
			case "put":
				require.GreaterOrEqual(t, len(items), 3, line)
				vlen, err := strconv.Atoi(items[2])
				require.NoError(t, err, line)
				v := make([]byte, vlen)
				for j := range v {
					v[j] = byte('a' + (j+3*n+i)%26)
				}
				ops = append(ops, op{keys.KindSet, items[1], string(v)})
				items = items[3:]
			case "del":
				require.GreaterOrEqual(t, len(items), 2, line)
				ops = append(ops, op{keys.KindDelete, items[1], ""})
				items = items[2:]
			default:
				t.Fatalf("ops.txt: unknown item %q in %q", items[0], line)
			}
		}
		out = append(out, ops)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestLevelDBBatches decodes every record of the log leveldb wrote as a batch and requires the
// entries the generator wrote, at the sequence numbers leveldb assigns: each batch starts at
// the last number used plus one (so an empty batch shares its number with the next batch), and
// every entry takes the next number.
func TestLevelDBBatches(t *testing.T) {
	const name = "000003.log"
	f, err := os.Open(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	defer f.Close()
	want := fixtureBatches(t)
	require.NotEmpty(t, want)

	r := wal.NewReader(f, name)
	var last keys.SeqNum
	for i := 0; ; i++ {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			require.Equal(t, len(want), i, "records in the log")
			break
		}
		require.NoError(t, err)
		require.Less(t, i, len(want), "more records than batches in ops.txt")

		require.Equal(t, last+1, Repr(rec).Seq(), "batch %d", i)
		var got []op
		seq := last + 1
		err = Apply(rec, name, r.Offset(), func(s keys.SeqNum, kind keys.Kind, key, value []byte) error {
			require.Equal(t, seq, s)
			seq++
			got = append(got, op{kind, string(key), string(value)})
			return nil
		})
		require.NoError(t, err, "batch %d", i)
		require.Equal(t, len(want[i]), len(got), "batch %d", i)
		for j := range got {
			require.Equal(t, want[i][j], got[j], "batch %d entry %d", i, j)
		}
		last += keys.SeqNum(len(got))

		// Our encoder writes the same bytes leveldb did.
		require.Equal(t, rec, []byte(build(Repr(rec).Seq(), want[i])), "batch %d re-encoded", i)
	}
}
