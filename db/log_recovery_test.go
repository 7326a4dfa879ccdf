package db

// Recovery from damaged and switched logs: a damaged record (ParanoidChecks refuses the log;
// without it recovery skips the damage, keeps every intact record and says in the LOG what it
// dropped), a torn tail (a write never acknowledged), a zeroed block with records after it (a
// hole, not unwritten space), and sequence gaps between logs (a log switch does not sync the
// retired log).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

func TestBadOpen(t *testing.T) {
	t.Run("CorruptLogRecord", func(t *testing.T) {
		for _, paranoid := range []bool{true, false} {
			fs, logName, offsets := logWithRecords(t)
			data := filetest.Read(t, fs, logName)
			data[offsets[1]+7+2] ^= 0x55 // inside b's batch: its checksum no longer matches
			filetest.Write(t, fs, logName, data)
			d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid})
			if paranoid {
				require.ErrorIs(t, err, ErrCorruption, "ParanoidChecks")
				require.Contains(t, err.Error(), filepath.Base(logName))
				continue
			}
			require.NoError(t, err, "without ParanoidChecks recovery skips the damage")
			got := dump(t, d, nil)
			require.NoError(t, d.Close())
			require.Equal(t, "A", got["a"], "the record before the damage")
			require.NotContains(t, got, "b", "the damaged record")
			require.Equal(t, "D", got["d"], "the record in the next block")
			info := string(filetest.Read(t, fs, "/db/LOG"))
			require.Contains(t, info, filepath.Base(logName), "the LOG names the damaged log")
			require.Contains(t, info, "dropped", "the LOG reports what was dropped")
		}
	})

	t.Run("TornTail", func(t *testing.T) {
		for _, paranoid := range []bool{true, false} {
			fs, logName, _ := logWithRecords(t)
			data := filetest.Read(t, fs, logName)
			filetest.Write(t, fs, logName, data[:len(data)-3]) // the last record, cut short by a crash
			d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid})
			require.NoError(t, err, "a torn tail is a write that was never acknowledged (paranoid=%v)", paranoid)
			got := dump(t, d, nil)
			require.NoError(t, d.Close())
			require.Equal(t, kv{"a": "A", "b": "B", "c": got["c"], "d": "D"}, got, "every complete record (paranoid=%v)", paranoid)
			require.Len(t, got["c"], 33<<10)
			require.NotContains(t, got, "e", "the torn record")
		}
	})
}

// logWithRecords makes a closed DB whose log holds five records: "a" and "b" (small), "c" (33
// KiB, so it ends in the log's second block), "d" and "e" (small, in the second block). It returns
// the log's path and the offset of each record.
func logWithRecords(t *testing.T) (*vfs.MemFS, string, []int64) {
	t.Helper()
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		v := []byte(strings.ToUpper(k))
		if k == "c" {
			v = bytes.Repeat([]byte("C"), 33<<10)
		}
		require.NoError(t, d.Put([]byte(k), v, nil))
	}
	require.NoError(t, d.Close())
	logs := namesOfKind(t, fs, "/db", filenames.Log)
	require.Len(t, logs, 1)
	name := filepath.Join("/db", logs[0])
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	r := wal.NewReader(f, name)
	var offsets []int64
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		offsets = append(offsets, r.Offset())
	}
	require.Len(t, offsets, 5)
	require.Greater(t, offsets[3], int64(32<<10), "d starts in the second block")
	return fs, name, offsets
}

// TestZeroedLogBlock zeroes the log's first block, which holds exactly the first write, so that
// the next block starts cleanly with the second write. The zeroed block is a hole, not unwritten
// space at the end of the log: a strict Open refuses the log, and a lenient one reports the loss
// and replays what follows, as it does past any damage. Neither may read the block as the log's
// clean start and silently apply the second write as if it were the first. (A corruption sweep
// found this: the reader skipped zeroed blocks silently wherever they were, as leveldb does.)
func TestZeroedLogBlock(t *testing.T) {
	mem := vfs.NewMem()
	d := openMem(t, mem, &Options{WriteBufferSize: 1 << 20})
	// One Put of key "a" whose record fills block 0: a 7-byte header and a 32761-byte payload
	// (12-byte batch header, kind, key length, key, 3-byte value length, value).
	require.NoError(t, d.Put([]byte("a"), bytes.Repeat([]byte("v"), 32761-12-1-1-1-3), nil))
	require.NoError(t, d.Put([]byte("b"), []byte("after"), nil))
	require.NoError(t, d.Close())
	require.NoError(t, mem.SyncDir("/db"))

	logs := namesOfKind(t, mem, "/db", filenames.Log)
	require.Len(t, logs, 1)
	logPath := filepath.Join("/db", logs[0])
	data := filetest.Read(t, mem, logPath)
	require.Greater(t, len(data), 32768, "the second write must be in the second block")
	clear(data[:32768])
	filetest.Write(t, mem, logPath, data)

	_, err := openMemErr(mem.CrashClone(), &Options{ParanoidChecks: true})
	require.ErrorIs(t, err, ErrCorruption)
	require.ErrorContains(t, err, filepath.Base(logPath))
	require.ErrorContains(t, err, "32768 zeroed bytes with records after them")

	d, err = openMemErr(mem.CrashClone(), nil)
	require.NoError(t, err)
	defer d.Close()
	_, err = d.Get([]byte("a"), nil)
	require.ErrorIs(t, err, ErrNotFound)
	v, err := d.Get([]byte("b"), nil)
	require.NoError(t, err)
	require.Equal(t, "after", string(v))
}

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
			logs := namesOfKind(t, mem, "/db", filenames.Log)
			require.Len(t, logs, 1)
			_, logNum, _ := filenames.Parse(logs[0])
			writeTestLog(t, mem, filenames.Path("/db", filenames.Log, logNum), seqRange(1, 5))
			second := filenames.Path("/db", filenames.Log, logNum+10)
			writeTestLog(t, mem, second, tc.second)
			if tc.torn {
				b := filetest.Read(t, mem, second)
				filetest.Write(t, mem, second, b[:len(b)-3])
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
			info, err := filetest.ReadErr(mem, "/db/LOG")
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
