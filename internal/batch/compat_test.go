package batch

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/opsfile"
	"github.com/stratadb/strata/wal"
)

// The write-ahead log C++ leveldb 1.23 wrote, and the list of batches its generator
// (wal/testdata/gen_log_fixture.cc) issued, one per line.
var fixtureDir = filepath.Join("..", "..", "wal", "testdata", "leveldb-1.23")

// fixtureBatches reads ops.txt into the entries of each batch.
func fixtureBatches(t *testing.T) [][]op {
	t.Helper()
	var out [][]op
	for _, b := range opsfile.Read(t, filepath.Join(fixtureDir, "ops.txt")) {
		var ops []op
		for _, o := range b.Ops {
			if o.Put {
				ops = append(ops, op{keys.KindSet, o.Key, string(o.Value)})
			} else {
				ops = append(ops, op{keys.KindDelete, o.Key, ""})
			}
		}
		out = append(out, ops)
	}
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
