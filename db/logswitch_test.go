package db

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/wal"
)

// writeTestLog writes a log of one batch per sequence number in seqs, each putting key
// "k<seq>", to path on fs, synced.
func writeTestLog(t *testing.T, fs vfs.FS, path string, seqs []keys.SeqNum) {
	t.Helper()
	f, err := fs.Create(path)
	require.NoError(t, err)
	w := wal.NewWriter(f)
	for _, s := range seqs {
		var r batch.Repr
		r.AppendPut(fmt.Appendf(nil, "k%02d", s), []byte("v"))
		r.SetSeq(s)
		require.NoError(t, w.AddRecord(r))
	}
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fs.SyncDir(filepath.Dir(path)))
}

func seqRange(lo, hi keys.SeqNum) []keys.SeqNum {
	var s []keys.SeqNum
	for q := lo; q <= hi; q++ {
		s = append(s, q)
	}
	return s
}

// TestReplayStopsAtSequenceGap: a log switch does not sync the retired log, so a power loss can
// take the end of one log and keep writes of the next. Recovery then finds the next log
// starting past where the first ended, or a log before the last cut short or without a write,
// and leaves the later logs out, so the DB holds a prefix of the writes. Logs that continue
// each other are replayed whole.
func TestReplayStopsAtSequenceGap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second []keys.SeqNum
		third  []keys.SeqNum
		torn   bool // the second log loses its last 3 bytes
		want   int  // keys k01..k<want> present, no others
	}{
		{"continuous", seqRange(6, 9), seqRange(10, 12), false, 12},
		{"gap", seqRange(8, 9), seqRange(10, 12), false, 5},
		{"gap before the last", seqRange(6, 9), seqRange(11, 12), false, 9},
		{"a middle log lost all its writes", nil, seqRange(10, 12), false, 5},
		{"a middle log cut short", seqRange(6, 9), seqRange(10, 12), true, 8},
		{"the last log cut short", seqRange(6, 9), nil, true, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			d := openMem(t, mem, nil)
			require.NoError(t, d.Close())
			names, err := mem.List("/db")
			require.NoError(t, err)
			var logNum uint64
			for _, n := range names {
				if kind, num, ok := filenames.Parse(n); ok && kind == filenames.Log {
					logNum = num
				}
			}
			require.NotZero(t, logNum)
			writeTestLog(t, mem, filenames.Path("/db", filenames.Log, logNum), seqRange(1, 5))
			second := filenames.Path("/db", filenames.Log, logNum+10)
			writeTestLog(t, mem, second, tc.second)
			if tc.torn {
				b, err := readFileErr(mem, second)
				require.NoError(t, err)
				writeTestFile(t, mem, second, b[:len(b)-3])
			}
			if tc.third != nil {
				writeTestLog(t, mem, filenames.Path("/db", filenames.Log, logNum+20), tc.third)
			}

			d = openMem(t, mem, nil)
			want := kv{}
			for i := 1; i <= tc.want; i++ {
				want[fmt.Sprintf("k%02d", i)] = "v"
			}
			require.Equal(t, want, dump(t, d, nil))
			info, err := readFileErr(mem, "/db/LOG")
			require.NoError(t, err)
			stopped := tc.third != nil && tc.want < 12
			require.Equal(t, stopped, strings.Contains(string(info), "not replayed"), "LOG:\n%s", info)
			// New writes continue after the newest sequence number replayed.
			require.NoError(t, d.Put([]byte("after"), []byte("x"), nil))
			require.NoError(t, d.Close())
			d = openMem(t, mem, nil)
			want["after"] = "x"
			require.Equal(t, want, dump(t, d, nil))
			require.NoError(t, d.Close())
		})
	}
}
