package db

// Tests of Repair. Each case writes one known data set (flushed tables at several levels,
// level-0 tables, a level-0 table numbered below a compaction output that holds older versions
// of its key, and writes only in the log), breaks one thing, repairs, opens and compares with
// the model: a key whose data lived in the destroyed piece may be missing or show an older
// value it once had; every other key must be exactly as written.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

const repairDir = "/db"

// repairOpts keep tables and blocks small, so the data set spans many of them.
func repairOpts(fs vfs.FS) *Options {
	return &Options{WriteBufferSize: 64 << 10, BlockSize: 1 << 10, MaxFileSize: 1 << 20, FS: fs}
}

// repairModel is what a test DB should hold: the latest value of each key, and every value each
// key ever had.
type repairModel struct {
	want    map[string]string
	history map[string]map[string]bool
	rng     *rand.Rand
	logOnly []string // keys written in the last phase, whose writes are only in the last log
}

func newRepairModel() *repairModel {
	return &repairModel{want: map[string]string{}, history: map[string]map[string]bool{}, rng: rand.New(rand.NewPCG(7, 11))}
}

func repairKey(i int) string { return fmt.Sprintf("key%05d", i) }

func (m *repairModel) put(t *testing.T, d *DB, i, version int, wo *WriteOptions) {
	t.Helper()
	k := repairKey(i)
	var b [40]byte
	for j := range b {
		b[j] = byte(m.rng.Uint32())
	}
	v := fmt.Sprintf("%s-v%d-%s", k, version, hex.EncodeToString(b[:]))
	require.NoError(t, d.Put([]byte(k), []byte(v), wo))
	m.want[k] = v
	if m.history[k] == nil {
		m.history[k] = map[string]bool{}
	}
	m.history[k][v] = true
}

func (m *repairModel) del(t *testing.T, d *DB, i int, wo *WriteOptions) {
	t.Helper()
	k := repairKey(i)
	require.NoError(t, d.Delete([]byte(k), wo))
	delete(m.want, k)
}

// openRepairDB opens dir on fs (nil: the OS) with repairOpts.
func openRepairDB(t *testing.T, fs vfs.FS, dir string) *DB {
	t.Helper()
	d, err := Open(dir, repairOpts(fs))
	require.NoError(t, err)
	return d
}

func reopenRepairDB(t *testing.T, d *DB, fs vfs.FS, dir string) *DB {
	t.Helper()
	require.NoError(t, d.Close())
	return openRepairDB(t, fs, dir)
}

// buildRepairDB writes the data set to dir and closes the DB. With sync every write is synced,
// so that a crash clone of fs keeps all of it.
func buildRepairDB(t *testing.T, fs vfs.FS, dir string, sync bool) *repairModel {
	t.Helper()
	m := newRepairModel()
	wo := &WriteOptions{Sync: sync}
	d := openRepairDB(t, fs, dir)
	// Phase 1: 3000 keys, flushed and compacted down the tree.
	for i := 0; i < 3000; i++ {
		m.put(t, d, i, 1, wo)
	}
	require.NoError(t, d.CompactRange(nil, nil))
	// Phase 2: overwrites and deletions, also compacted down.
	for i := 0; i < 1500; i += 3 {
		m.put(t, d, i, 2, wo)
	}
	for i := 1500; i < 3000; i += 10 {
		m.del(t, d, i, wo)
	}
	d = reopenRepairDB(t, d, fs, dir)
	require.NoError(t, d.CompactRange(nil, nil))
	// Phase 3: reopening writes each log to a level-0 table: one with the newest key01234, one
	// with the newest key00007. Compacting key00007's range rewrites the deepest table, old
	// key01234 included, under a number above the first level-0 table's.
	m.put(t, d, 1234, 3, wo)
	d = reopenRepairDB(t, d, fs, dir)
	m.put(t, d, 7, 3, wo)
	d = reopenRepairDB(t, d, fs, dir)
	require.NoError(t, d.CompactRange([]byte(repairKey(7)), []byte(repairKey(7))))
	// Phase 4: writes that stay in the log.
	for i := 3000; i < 3300; i++ {
		m.put(t, d, i, 4, wo)
		m.logOnly = append(m.logOnly, repairKey(i))
	}
	for i := 0; i < 3000; i += 97 {
		m.put(t, d, i, 4, wo)
		m.logOnly = append(m.logOnly, repairKey(i))
	}
	for i := 1; i < 3000; i += 101 {
		m.del(t, d, i, wo)
		m.logOnly = append(m.logOnly, repairKey(i))
	}
	require.NoError(t, d.Close())
	return m
}

// repairCheck opens the repaired DB and compares it with m. Keys in atRisk may be missing or
// hold an older value; all others must be exact, through an iterator and through Get. It
// returns how many at-risk keys do not have their latest value.
func repairCheck(t *testing.T, fs vfs.FS, dir string, m *repairModel, atRisk map[string]bool) int {
	t.Helper()
	repairCheckLevel0Order(t, fs, dir)
	return repairCheckContents(t, fs, dir, m, atRisk)
}

// repairCheckContents is repairCheck without the check of the tree's shape.
func repairCheckContents(t *testing.T, fs vfs.FS, dir string, m *repairModel, atRisk map[string]bool) int {
	t.Helper()
	d := openRepairDB(t, fs, dir)
	defer func() { require.NoError(t, d.Close()) }()
	got := map[string]string{}
	it := d.NewIterator(nil)
	for ok := it.First(); ok; ok = it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Close())

	differ := 0
	for k := range m.history {
		v, err := d.Get([]byte(k), nil)
		if errors.Is(err, ErrNotFound) {
			_, inGot := got[k]
			require.False(t, inGot, "the iterator sees %s, Get does not", k)
		} else {
			require.NoError(t, err)
			require.Equal(t, got[k], string(v), "Get and the iterator disagree on %s", k)
		}
		want, present := m.want[k]
		g, found := got[k]
		if found == present && g == want {
			continue
		}
		require.True(t, atRisk[k], "key %s: got %q (found %v), want %q (present %v), and its data was not destroyed",
			k, repairShort(g), found, repairShort(want), present)
		if found {
			require.True(t, m.history[k][g], "key %s: %q is no value it ever had", k, repairShort(g))
		}
		differ++
	}
	for k := range got {
		_, written := m.history[k]
		require.True(t, written, "key %s was never written", k)
	}
	return differ
}

// repairCheckLevel0Order checks the tree a Repair wrote: every table at level 0, and for every user
// key, the highest-numbered table holding it holds its newest version, so that a Get, which
// stops at the first level-0 table holding the key, finds that version. (Gets through the DB
// check this too, but seek compactions started by those very Gets may reorganize level 0 first.)
func repairCheckLevel0Order(t *testing.T, fs vfs.FS, dir string) {
	t.Helper()
	if fs == nil {
		fs = vfs.NewOS()
	}
	icmp := keys.NewInternalComparator(keys.Bytewise)
	vs, err := compaction.Recover(fs, dir, icmp, compaction.DefaultOptions())
	require.NoError(t, err)
	defer vs.Close()
	v := vs.Current()
	for level := 1; level < compaction.NumLevels; level++ {
		require.Zero(t, v.NumFiles(level), "Repair puts every table at level 0")
	}
	winner := map[string]keys.SeqNum{} // user key -> newest sequence in the first table holding it
	l0 := v.Levels[0]
	for i := len(l0) - 1; i >= 0; i-- {
		path := filenames.Path(dir, filenames.Table, l0[i].Num)
		f, err := fs.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			path = filenames.LegacyTablePath(dir, l0[i].Num)
			f, err = fs.Open(path)
		}
		require.NoError(t, err)
		st, err := f.Stat()
		require.NoError(t, err)
		r, err := sstable.Open(f, path, st.Size(), sstable.ReaderOptions{Comparator: icmp})
		require.NoError(t, err)
		seen := map[string]bool{}
		it := r.NewIterator(sstable.ReadOptions{})
		for ok := it.First(); ok; ok = it.Next() {
			pk, ok := keys.Parse(it.Key())
			require.True(t, ok)
			uk := string(pk.UserKey)
			if w, ok := winner[uk]; ok && !seen[uk] {
				require.LessOrEqual(t, pk.Seq, w, "table #%d holds %s, newer than the version in a table numbered above it", l0[i].Num, keys.FormatInternalKey(it.Key()))
			} else if !ok {
				winner[uk] = pk.Seq
				seen[uk] = true
			}
		}
		require.NoError(t, it.Close())
		require.NoError(t, r.Close())
		require.NoError(t, f.Close())
	}
}

func repairShort(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

func repairFlipByte(t *testing.T, fs vfs.FS, path string, off int) {
	t.Helper()
	b := filetest.Read(t, fs, path)
	require.Less(t, off, len(b))
	b[off] ^= 0x5a
	filetest.Write(t, fs, path, b)
}

// repairTableUserKeys returns the user keys of the table at path, per data block.
func repairTableUserKeys(t *testing.T, fs vfs.FS, path string) [][]string {
	t.Helper()
	r, done := repairOpenTable(t, fs, path)
	defer done()
	var blocks [][]string
	for _, e := range r.Layout().Index {
		contents, _, err := r.ReadBlock(e.Handle)
		require.NoError(t, err)
		var ks []string
		require.NoError(t, sstable.WalkBlock(contents, func(e sstable.RawEntry) bool {
			ks = append(ks, string(keys.UserKey(e.Key)))
			return true
		}))
		blocks = append(blocks, ks)
	}
	return blocks
}

// repairOpenTable opens the table at path; done closes it.
func repairOpenTable(t *testing.T, fs vfs.FS, path string) (r *sstable.Reader, done func()) {
	t.Helper()
	f, err := fs.Open(path)
	require.NoError(t, err)
	st, err := f.Stat()
	require.NoError(t, err)
	r, err = sstable.Open(f, path, st.Size(), sstable.ReaderOptions{Comparator: keys.NewInternalComparator(keys.Bytewise)})
	require.NoError(t, err)
	return r, func() {
		require.NoError(t, r.Close())
		require.NoError(t, f.Close())
	}
}

// repairBlockHandle returns where the i-th data block of the table at path is.
func repairBlockHandle(t *testing.T, fs vfs.FS, path string, i int) sstable.BlockHandle {
	t.Helper()
	r, done := repairOpenTable(t, fs, path)
	defer done()
	return r.Layout().Index[i].Handle
}

// repairLiveTables returns the names of the tables dir's MANIFEST names (the directory may hold
// others, that compaction replaced and the DB has not deleted yet).
func repairLiveTables(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	vs, err := compaction.Recover(fs, dir, keys.NewInternalComparator(keys.Bytewise), compaction.DefaultOptions())
	require.NoError(t, err)
	defer vs.Close()
	live := map[uint64]struct{}{}
	vs.AddLiveFiles(live)
	var names []string
	for _, n := range namesOfKind(t, fs, dir, filenames.Table) {
		if _, num, _ := filenames.Parse(n); num > 0 {
			if _, ok := live[num]; ok {
				names = append(names, n)
			}
		}
	}
	return names
}

// repairLargestTable returns the name of the biggest live table in dir.
func repairLargestTable(t *testing.T, fs vfs.FS, dir string) string {
	t.Helper()
	var best string
	var size int64 = -1
	for _, n := range repairLiveTables(t, fs, dir) {
		st, err := fs.Stat(filepath.Join(dir, n))
		require.NoError(t, err)
		if st.Size() > size {
			best, size = n, st.Size()
		}
	}
	require.NotEmpty(t, best)
	return best
}

func repairKeySet(lists ...[]string) map[string]bool {
	s := map[string]bool{}
	for _, l := range lists {
		for _, k := range l {
			s[k] = true
		}
	}
	return s
}

func repairInfoLog(t *testing.T, fs vfs.FS, dir string) string {
	t.Helper()
	return string(filetest.Read(t, fs, filepath.Join(dir, filenames.InfoLogName)))
}

func repairLostFiles(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(filepath.Join(dir, lostDirName))
	require.NoError(t, err)
	return names
}

func TestRepair(t *testing.T) {
	build := func(t *testing.T) (*vfs.MemFS, *repairModel) {
		fs := vfs.NewMem()
		return fs, buildRepairDB(t, fs, repairDir, false)
	}
	repair := func(t *testing.T, fs vfs.FS) {
		t.Helper()
		require.NoError(t, Repair(repairDir, repairOpts(fs)))
	}

	t.Run("LostCurrent", func(t *testing.T) {
		fs, m := build(t)
		require.NoError(t, fs.Remove(filepath.Join(repairDir, filenames.CurrentName)))
		_, err := Open(repairDir, repairOpts(fs))
		require.ErrorIs(t, err, ErrCorruption)
		repair(t, fs)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("CorruptCurrent", func(t *testing.T) {
		fs, m := build(t)
		filetest.Write(t, fs, filepath.Join(repairDir, filenames.CurrentName), []byte("MANIFEST-9x9\n"))
		repair(t, fs)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("LostManifest", func(t *testing.T) {
		fs, m := build(t)
		for _, n := range namesOfKind(t, fs, repairDir, filenames.Manifest) {
			require.NoError(t, fs.Remove(filepath.Join(repairDir, n)))
		}
		repair(t, fs)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("CorruptManifest", func(t *testing.T) {
		fs, m := build(t)
		ms := namesOfKind(t, fs, repairDir, filenames.Manifest)
		require.NotEmpty(t, ms)
		for _, n := range ms {
			p := filepath.Join(repairDir, n)
			size := len(filetest.Read(t, fs, p))
			for _, off := range []int{3, size / 2, size - 5} {
				repairFlipByte(t, fs, p, off)
			}
		}
		_, err := Open(repairDir, repairOpts(fs))
		require.Error(t, err)
		repair(t, fs)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("ManifestEditsThatDoNotApply", func(t *testing.T) {
		// CURRENT's MANIFEST, intact, ends in a record that is not an edit and an edit that
		// deletes a table no level holds: recovery refuses both, Repair goes past them.
		fs, m := build(t)
		_, num, err := compaction.ReadCurrent(fs, repairDir)
		require.NoError(t, err)
		p := filenames.Path(repairDir, filenames.Manifest, num)
		data := filetest.Read(t, fs, p)
		var tail repairSyncBuffer
		w := wal.NewAppendWriter(&tail, int64(len(data)))
		var e compaction.VersionEdit
		e.DeleteFile(3, 999999)
		require.NoError(t, w.AddRecord([]byte{8}))
		require.NoError(t, w.AddRecord(e.Encode(nil)))
		filetest.Write(t, fs, p, append(data, tail.Bytes()...))
		_, err = Open(repairDir, repairOpts(fs))
		require.ErrorIs(t, err, ErrCorruption)
		repair(t, fs)
		require.Contains(t, repairInfoLog(t, fs, repairDir), fmt.Sprintf("MANIFEST-%06d: ", num))
		require.Contains(t, repairInfoLog(t, fs, repairDir), "edits, 1 undecodable edits, 1 refused changes, 0 damaged stretches")
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("DeletedTable", func(t *testing.T) {
		fs, m := build(t)
		victim := repairLargestTable(t, fs, repairDir)
		atRisk := repairKeySet(slices.Concat(repairTableUserKeys(t, fs, filepath.Join(repairDir, victim))...))
		require.NoError(t, fs.Remove(filepath.Join(repairDir, victim)))
		repair(t, fs)
		_, num, _ := filenames.Parse(victim)
		require.Contains(t, repairInfoLog(t, fs, repairDir), fmt.Sprintf("LOST table #%d: MANIFEST-", num))
		lost := repairCheck(t, fs, repairDir, m, atRisk)
		require.Positive(t, lost)
	})

	t.Run("CorruptTable", func(t *testing.T) {
		fs, m := build(t)
		victim := repairLargestTable(t, fs, repairDir)
		path := filepath.Join(repairDir, victim)
		blocks := repairTableUserKeys(t, fs, path)
		require.Greater(t, len(blocks), 10)
		// Damage the third data block: only its keys are at risk; the blocks before and after it
		// must be salvaged.
		h := repairBlockHandle(t, fs, path, 2)
		repairFlipByte(t, fs, path, int(h.Offset+h.Size/2))

		repair(t, fs)
		_, num, _ := filenames.Parse(victim)
		log := repairInfoLog(t, fs, repairDir)
		require.Contains(t, log, fmt.Sprintf("LOST table #%d: the block at offset %d", num, h.Offset))
		require.Contains(t, log, fmt.Sprintf("table #%d: %d entries salvaged from %d of %d blocks", num,
			len(slices.Concat(blocks...))-len(blocks[2]), len(blocks)-1, len(blocks)))
		require.Contains(t, repairLostFiles(t, fs, repairDir), victim)
		lost := repairCheck(t, fs, repairDir, m, repairKeySet(blocks[2]))
		require.Positive(t, lost)
		require.LessOrEqual(t, lost, len(blocks[2]))
	})

	t.Run("UnreadableTable", func(t *testing.T) {
		fs, m := build(t)
		// The smallest table: its footer is cut off, so it cannot be opened at all.
		var victim string
		var size int64 = 1 << 62
		for _, n := range repairLiveTables(t, fs, repairDir) {
			st, err := fs.Stat(filepath.Join(repairDir, n))
			require.NoError(t, err)
			if st.Size() < size {
				victim, size = n, st.Size()
			}
		}
		path := filepath.Join(repairDir, victim)
		atRisk := repairKeySet(slices.Concat(repairTableUserKeys(t, fs, path)...))
		filetest.Write(t, fs, path, filetest.Read(t, fs, path)[:size-10])
		repair(t, fs)
		_, num, _ := filenames.Parse(victim)
		require.Contains(t, repairInfoLog(t, fs, repairDir), fmt.Sprintf("LOST table #%d: cannot be opened", num))
		require.Contains(t, repairLostFiles(t, fs, repairDir), victim)
		repairCheck(t, fs, repairDir, m, atRisk)
	})

	t.Run("CorruptLogRecord", func(t *testing.T) {
		fs, m := build(t)
		logs := namesOfKind(t, fs, repairDir, filenames.Log)
		require.Len(t, logs, 1)
		path := filepath.Join(repairDir, logs[0])
		require.Greater(t, len(filetest.Read(t, fs, path)), 32<<10, "the log should span two blocks")
		// Near the end of the first block: the records before the damage and those in the second
		// block survive.
		repairFlipByte(t, fs, path, 30000)
		repair(t, fs)
		_, num, _ := filenames.Parse(logs[0])
		require.Contains(t, repairInfoLog(t, fs, repairDir), fmt.Sprintf("LOST log #%d: dropped", num))
		require.Contains(t, repairLostFiles(t, fs, repairDir), logs[0])
		lost := repairCheck(t, fs, repairDir, m, repairKeySet(m.logOnly))
		require.Positive(t, lost)
		require.Less(t, lost, len(m.logOnly)/4, "the records outside the damaged stretch must survive")
	})

	t.Run("OnlyInLog", func(t *testing.T) {
		fs := vfs.NewMem()
		m := newRepairModel()
		d := openRepairDB(t, fs, repairDir)
		for i := 0; i < 200; i++ {
			m.put(t, d, i, 1, nil)
		}
		for i := 0; i < 200; i += 7 {
			m.del(t, d, i, nil)
		}
		require.NoError(t, d.Close())
		require.Empty(t, namesOfKind(t, fs, repairDir, filenames.Table))
		logs := namesOfKind(t, fs, repairDir, filenames.Log)
		repair(t, fs)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
		require.Subset(t, repairLostFiles(t, fs, repairDir), logs)
	})

	t.Run("Healthy", func(t *testing.T) {
		fs, m := build(t)
		repair(t, fs)
		log := repairInfoLog(t, fs, repairDir)
		require.Contains(t, log, "nothing lost")
		require.NotContains(t, log, "LOST")
		// The level-0 table with the newest key01234 was numbered below the compaction output
		// with its older version; Get would find the older one first had Repair not renumbered.
		require.Contains(t, log, "renumbered")
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
		// Repairing the repaired DB changes nothing either.
		repair(t, fs)
		require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
	})

	t.Run("WhileOpen", func(t *testing.T) {
		fs, m := build(t)
		d := openRepairDB(t, fs, repairDir)
		err := Repair(repairDir, repairOpts(fs))
		require.ErrorIs(t, err, ErrLocked)
		require.NoError(t, d.Close())
		require.Zero(t, repairCheckContents(t, fs, repairDir, m, nil))
	})

	t.Run("LogReportsLosses", func(t *testing.T) {
		fs, m := build(t)
		victim := repairLargestTable(t, fs, repairDir)
		atRisk := repairKeySet(slices.Concat(repairTableUserKeys(t, fs, filepath.Join(repairDir, victim))...), m.logOnly)
		require.NoError(t, fs.Remove(filepath.Join(repairDir, victim)))
		logs := namesOfKind(t, fs, repairDir, filenames.Log)
		require.Len(t, logs, 1)
		repairFlipByte(t, fs, filepath.Join(repairDir, logs[0]), 100)
		repair(t, fs)
		log := repairInfoLog(t, fs, repairDir)
		_, tnum, _ := filenames.Parse(victim)
		_, lnum, _ := filenames.Parse(logs[0])
		for _, want := range []string{
			fmt.Sprintf("LOST table #%d: MANIFEST-", tnum),
			fmt.Sprintf("LOST log #%d: dropped", lnum),
			"**** repaired /db:",
			fmt.Sprintf("LOST: table #%d missing", tnum),
		} {
			require.Contains(t, log, want)
		}
		repairCheck(t, fs, repairDir, m, atRisk)
	})

	t.Run("StaleFilesNotUsed", func(t *testing.T) {
		// A log the MANIFEST records as flushed and a table it records as compacted away, left
		// behind by a crash before their deletion, hold a key deleted since whose deletion
		// compaction has dropped: using them would bring the key back.
		for _, currentLost := range []bool{false, true} {
			t.Run(fmt.Sprintf("currentLost=%v", currentLost), func(t *testing.T) {
				fs := vfs.NewMem()
				m := newRepairModel()
				d := openRepairDB(t, fs, repairDir)
				m.put(t, d, 1, 1, nil)
				m.put(t, d, 3, 1, nil)
				logs := namesOfKind(t, fs, repairDir, filenames.Log)
				require.Len(t, logs, 1)
				staleLog := filetest.Read(t, fs, filepath.Join(repairDir, logs[0]))
				require.NoError(t, d.CompactRange(nil, nil))
				tables := namesOfKind(t, fs, repairDir, filenames.Table)
				require.Len(t, tables, 1)
				staleTable := filetest.Read(t, fs, filepath.Join(repairDir, tables[0]))
				m.del(t, d, 1, nil)
				m.put(t, d, 2, 1, nil)
				require.NoError(t, d.CompactRange(nil, nil))
				require.NoError(t, d.Close())
				if !currentLost {
					// Reopening deletes the stale files and starts a MANIFEST that no longer
					// mentions the table: only CURRENT's MANIFEST, read whole, rules it out.
					d = openRepairDB(t, fs, repairDir)
					require.NoError(t, d.Close())
				}
				filetest.Write(t, fs, filepath.Join(repairDir, logs[0]), staleLog)
				filetest.Write(t, fs, filepath.Join(repairDir, tables[0]), staleTable)
				if currentLost {
					require.NoError(t, fs.Remove(filepath.Join(repairDir, filenames.CurrentName)))
				}
				repair(t, fs)
				log := repairInfoLog(t, fs, repairDir)
				require.Contains(t, log, "not converted")
				if currentLost {
					require.Contains(t, log, "records it as compacted into other tables")
				} else {
					require.Contains(t, log, "intact and current, does not name it")
				}
				require.Zero(t, repairCheck(t, fs, repairDir, m, nil))
				require.Subset(t, repairLostFiles(t, fs, repairDir), []string{logs[0], tables[0]})
			})
		}
	})

	t.Run("InterleavedTables", func(t *testing.T) {
		// Tables #5 and #6 each hold the newest version of one key and an older version of the
		// other: no numbering lets a Get find both newest versions, so Repair merges them (and
		// #8, which shares their key range and duplicates one of #5's entries). #7, an old-style
		// .sst table of its own key range, is left alone.
		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll(repairDir, 0o755))
		type ent struct {
			key  string
			seq  keys.SeqNum
			kind keys.Kind
		}
		write := func(name string, ents ...ent) {
			f, err := fs.Create(filepath.Join(repairDir, name))
			require.NoError(t, err)
			w := sstable.NewWriter(f, sstable.WriterOptions{Comparator: keys.NewInternalComparator(keys.Bytewise)})
			for _, e := range ents {
				v := fmt.Sprintf("%s@%d", e.key, e.seq)
				require.NoError(t, w.Add(keys.AppendInternalKey(nil, []byte(e.key), e.seq, e.kind), []byte(v)))
			}
			_, err = w.Finish()
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
		write("000005.ldb", ent{"j", 10, keys.KindSet}, ent{"k", 1, keys.KindSet}, ent{"m", 12, keys.KindDelete})
		write("000006.ldb", ent{"j", 2, keys.KindSet}, ent{"k", 11, keys.KindSet}, ent{"m", 3, keys.KindSet})
		write("000007.sst", ent{"x", 4, keys.KindSet})
		write("000008.ldb", ent{"j", 10, keys.KindSet})
		repair(t, fs)
		log := repairInfoLog(t, fs, repairDir)
		require.Contains(t, log, "tables [5 6 8] hold interleaved versions of the same keys; merged into tables [9]")
		require.NotContains(t, log, "LOST")
		repairCheckLevel0Order(t, fs, repairDir)
		require.ElementsMatch(t, []string{"000007.sst", "000009.ldb"}, namesOfKind(t, fs, repairDir, filenames.Table))
		d := openRepairDB(t, fs, repairDir)
		for k, want := range map[string]string{"j": "j@10", "k": "k@11", "x": "x@4"} {
			v, err := d.Get([]byte(k), nil)
			require.NoError(t, err)
			require.Equal(t, want, string(v))
		}
		_, err := d.Get([]byte("m"), nil)
		require.ErrorIs(t, err, ErrNotFound)
		require.NoError(t, d.Close())
	})

	t.Run("ComparatorMismatch", func(t *testing.T) {
		fs, _ := build(t)
		require.NoError(t, fs.Remove(filepath.Join(repairDir, filenames.CurrentName)))
		before := repairDirState(t, fs, repairDir)
		o := repairOpts(fs)
		o.Comparator = repairRenamedComparator{keys.Bytewise}
		err := Repair(repairDir, o)
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.Equal(t, before, repairDirState(t, fs, repairDir), "a refused Repair must change nothing")
	})

	t.Run("MissingDir", func(t *testing.T) {
		err := Repair("/nowhere", repairOpts(vfs.NewMem()))
		require.Error(t, err)
	})
}

// repairRenamedComparator is bytewise order under another name.
type repairRenamedComparator struct{ keys.Comparator }

func (repairRenamedComparator) Name() string { return "test.RenamedComparator" }

// repairSyncBuffer is a wal.SyncWriter in memory.
type repairSyncBuffer struct{ bytes.Buffer }

func (*repairSyncBuffer) Sync() error { return nil }

// repairDirState maps every file of dir to its contents.
func repairDirState(t *testing.T, fs vfs.FS, dir string) map[string]string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	s := map[string]string{}
	for _, n := range names {
		if st, err := fs.Stat(filepath.Join(dir, n)); err == nil && !st.IsDir() {
			s[n] = string(filetest.Read(t, fs, filepath.Join(dir, n)))
		}
	}
	return s
}

// TestRepairCrash crashes Repair at every mutating filesystem operation in turn (the operation
// and all later ones fail, then unsynced data is dropped), repairs again and checks that nothing
// was lost but the damaged block. The DB has lost its CURRENT and has a damaged table, so the
// repair converts a log, salvages a table, renumbers one and sets stale ones aside.
func TestRepairCrash(t *testing.T) {
	base := vfs.NewMem()
	m := buildRepairDB(t, base, repairDir, true)
	victim := filepath.Join(repairDir, repairLargestTable(t, base, repairDir))
	blocks := repairTableUserKeys(t, base, victim)
	atRisk := repairKeySet(blocks[1])
	h := repairBlockHandle(t, base, victim, 1)
	repairFlipByte(t, base, victim, int(h.Offset+1))
	require.NoError(t, base.Remove(filepath.Join(repairDir, filenames.CurrentName)))
	require.NoError(t, base.SyncDir(repairDir))
	base = base.CrashClone()

	mutating := []vfs.Op{vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpRename, vfs.OpRemove, vfs.OpMkdir, vfs.OpSyncDir}
	counter := vfs.NewCounter(mutating...)
	require.NoError(t, Repair(repairDir, repairOpts(vfs.WithFaults(base.CrashClone(), counter))))
	total := counter.Count()
	t.Logf("a Repair makes %d mutating operations", total)
	require.Positive(t, total)
	step := max(1, total/200)
	for n := int64(1); n <= total; n += step {
		work := base.CrashClone()
		inj := vfs.OnNth(n, vfs.ErrInjected, mutating...).Sticky()
		err := Repair(repairDir, repairOpts(vfs.WithFaults(work, inj)))
		require.True(t, err == nil || errors.Is(err, vfs.ErrInjected), "crash at operation %d: %v", n, err)
		after := work.CrashClone()
		require.NoError(t, Repair(repairDir, repairOpts(after)), "repair after a crash at operation %d of %d", n, total)
		lost := repairCheck(t, after, repairDir, m, atRisk)
		require.LessOrEqual(t, lost, len(blocks[1]), "crash at operation %d of %d", n, total)
	}
}

// TestRepairOS repairs a DB on the real filesystem.
func TestRepairOS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	m := buildRepairDB(t, nil, dir, false)
	fs := vfs.NewOS()
	for _, n := range namesOfKind(t, fs, dir, filenames.Manifest) {
		require.NoError(t, fs.Remove(filepath.Join(dir, n)))
	}
	require.NoError(t, Repair(dir, &Options{WriteBufferSize: 64 << 10, BlockSize: 1 << 10, MaxFileSize: 1 << 20}))
	require.Zero(t, repairCheck(t, nil, dir, m, nil))
	require.NotEmpty(t, repairLostFiles(t, fs, dir))
}

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
