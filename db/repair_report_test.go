package db

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/vfs"
)

// TestRepairReport damages a DB and checks that RepairWithReport says what it saved and what it
// lost, in a form a program can read.
func TestRepairReport(t *testing.T) {
	t.Run("NothingLost", func(t *testing.T) {
		fs := vfs.NewMem()
		m := buildRepairDB(t, fs, repairDir, false)
		require.NoError(t, fs.Remove(filepath.Join(repairDir, filenames.CurrentName)))
		logs := namesOfKind(t, fs, repairDir, filenames.Log)
		rep, err := RepairWithReport(repairDir, repairOpts(fs))
		require.NoError(t, err)
		require.False(t, rep.LostData(), "losses: %q", rep.Losses)
		require.Empty(t, rep.Losses)
		require.Zero(t, rep.LogBytesDropped)
		require.Positive(t, rep.Tables)
		require.Positive(t, rep.Bytes)
		require.Equal(t, len(logs), rep.LogsConverted)
		require.Positive(t, rep.LastSequence)
		for _, l := range logs {
			require.Contains(t, rep.SetAside, "lost/"+l, "a converted log is set aside")
		}
		lost := repairLostFiles(t, fs, repairDir)
		require.Len(t, rep.SetAside, len(lost), "every file in lost/ is reported: %q", lost)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("DamagedLogAndTable", func(t *testing.T) {
		fs := vfs.NewMem()
		m := buildRepairDB(t, fs, repairDir, false)
		table := repairLargestTable(t, fs, repairDir)
		tableKeys := repairTableUserKeys(t, fs, filepath.Join(repairDir, table))
		repairFlipByte(t, fs, filepath.Join(repairDir, table), 10) // inside the first block
		logs := namesOfKind(t, fs, repairDir, filenames.Log)
		lastLog := logs[len(logs)-1]
		repairFlipByte(t, fs, filepath.Join(repairDir, lastLog), 100) // inside the first record
		require.NoError(t, fs.Remove(filepath.Join(repairDir, filenames.CurrentName)))

		rep, err := RepairWithReport(repairDir, repairOpts(fs))
		require.NoError(t, err, "a repair that lost data still succeeds")
		require.True(t, rep.LostData())
		require.Positive(t, rep.LogBytesDropped)
		_, logNum, _ := filenames.Parse(lastLog)
		_, tableNum, _ := filenames.Parse(table)
		var logBytes int64
		for _, l := range rep.Losses {
			var n int64
			var num uint64
			if _, err := fmt.Sscanf(l, "%d bytes of log #%d", &n, &num); err == nil && num == logNum {
				logBytes += n
			}
		}
		require.Equal(t, rep.LogBytesDropped, logBytes, "LogBytesDropped sums the log losses %q", rep.Losses)
		require.Contains(t, rep.Losses, fmt.Sprintf("a block of table #%d", tableNum))
		require.Contains(t, rep.SetAside, "lost/"+lastLog)
		require.Contains(t, rep.SetAside, "lost/"+table, "the damaged table, after its readable blocks were copied")
		require.True(t, slices.IsSorted(repairLostFiles(t, fs, repairDir)))
		info := repairInfoLog(t, fs, repairDir)
		for _, l := range rep.Losses {
			require.Contains(t, info, "LOST", l)
		}

		// Keys of the first log record and of the table's first block may be lost; the rest
		// must be there.
		atRisk := repairKeySet(m.logOnly, tableKeys[0])
		repairCheck(t, fs, repairDir, m, atRisk)
	})

	t.Run("Errors", func(t *testing.T) {
		rep, err := RepairWithReport("", nil)
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.Nil(t, rep)
		rep, err = RepairWithReport("/nope", repairOpts(vfs.NewMem()))
		require.Error(t, err)
		require.Nil(t, rep)
		require.True(t, strings.HasPrefix(err.Error(), "strata: repair /nope: "), err.Error())
	})
}
