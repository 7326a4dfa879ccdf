package compaction

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/testcmp"
	"github.com/stratadb/strata/internal/testutil/testseed"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
	"github.com/stretchr/testify/require"
)

func listDir(t testing.TB, fs vfs.FS) []string {
	t.Helper()
	names, err := fs.List(testDir)
	require.NoError(t, err)
	return names
}

func currentOf(t testing.TB, fs vfs.FS) string {
	return string(filetest.Read(t, fs, filepath.Join(testDir, filenames.CurrentName)))
}

// writeManifest writes a MANIFEST of the given edits and points CURRENT at it.
func writeManifest(t testing.TB, fs vfs.FS, num uint64, edits ...*VersionEdit) {
	t.Helper()
	var buf bytes.Buffer
	w := wal.NewWriter(nopSyncer{&buf})
	for _, e := range edits {
		require.NoError(t, w.AddRecord(e.Encode(nil)))
	}
	filetest.Write(t, fs, filenames.Path(testDir, filenames.Manifest, num), buf.Bytes())
	filetest.Write(t, fs, filepath.Join(testDir, filenames.CurrentName), []byte(filenames.Name(filenames.Manifest, num)+"\n"))
}

type nopSyncer struct{ io.Writer }

func (nopSyncer) Sync() error { return nil }

// baseEdit holds the fields recovery requires.
func baseEdit() *VersionEdit {
	var e VersionEdit
	e.SetComparator(keys.BytewiseName)
	e.SetLogNum(0)
	e.SetNextFileNum(10)
	e.SetLastSeq(0)
	return &e
}

// Create writes exactly what leveldb's NewDB writes, and the first LogAndApply after it (the
// edit a fresh leveldb open makes: the new log 3) produces a MANIFEST-000002 byte for byte equal
// to the one C++ leveldb 1.23 wrote.
func TestCreateMatchesLevelDB(t *testing.T) {
	fs, vs := newTestVersionSet(t)
	require.Equal(t, []string{"CURRENT", "MANIFEST-000001"}, listDir(t, fs))
	require.Equal(t, "MANIFEST-000001\n", currentOf(t, fs))

	var newDB VersionEdit
	newDB.SetComparator(keys.BytewiseName)
	newDB.SetLogNum(0)
	newDB.SetNextFileNum(2)
	newDB.SetLastSeq(0)
	var want bytes.Buffer
	require.NoError(t, wal.NewWriter(nopSyncer{&want}).AddRecord(newDB.Encode(nil)))
	require.Equal(t, want.Bytes(), filetest.Read(t, fs, filenames.Path(testDir, filenames.Manifest, 1)))

	require.Equal(t, uint64(1), vs.ManifestFileNumber())
	var mu sync.Mutex
	mu.Lock()
	logNum := vs.NewFileNumber()
	require.Equal(t, uint64(3), logNum)
	var e VersionEdit
	e.SetLogNum(logNum)
	require.NoError(t, vs.LogAndApply(&e, &mu))
	require.Equal(t, uint64(2), vs.ManifestFileNumber())
	require.Equal(t, uint64(3), vs.LogNumber())
	mu.Unlock()
	require.NoError(t, vs.Close())

	fixture, err := os.ReadFile(fixtureManifest)
	require.NoError(t, err)
	require.Equal(t, fixture, filetest.Read(t, fs, filenames.Path(testDir, filenames.Manifest, 2)))
	require.Equal(t, "MANIFEST-000002\n", currentOf(t, fs))
	require.Equal(t, []string{"CURRENT", "MANIFEST-000001", "MANIFEST-000002"}, listDir(t, fs))
}

// The fixture MANIFEST recovers to what leveldb recorded, and the next MANIFEST takes the
// number leveldb would give it.
func TestRecoverLevelDBFixture(t *testing.T) {
	fs := newMemDB(t)
	data, err := os.ReadFile(fixtureManifest)
	require.NoError(t, err)
	filetest.Write(t, fs, filenames.Path(testDir, filenames.Manifest, 2), data)
	filetest.Write(t, fs, filepath.Join(testDir, filenames.CurrentName), []byte("MANIFEST-000002\n"))
	vs, err := Recover(fs, testDir, testICmp, nil)
	require.NoError(t, err)
	require.Equal(t, uint64(3), vs.LogNumber())
	require.Equal(t, uint64(0), vs.PrevLogNumber())
	require.Equal(t, keys.SeqNum(0), vs.LastSequence())
	require.Equal(t, uint64(2), vs.ManifestFileNumber())
	require.Equal(t, uint64(5), vs.NewFileNumber(), "4 is reserved for the next MANIFEST")
	require.Equal(t, "", vs.Current().String())
}

func TestCreateRefusesExistingDB(t *testing.T) {
	fs := newMemDB(t)
	_, err := Create(fs, testDir, testICmp, nil)
	require.NoError(t, err)
	_, err = Create(fs, testDir, testICmp, nil)
	require.ErrorIs(t, err, dberr.ErrInvalidArgument)
}

// Create → many LogAndApply → Close → Recover gives back the same Version and counters, and
// each open starts a MANIFEST of its own.
func TestLogAndApplyRecoverRoundTrip(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	fs, vs := newTestVersionSet(t)
	var mu sync.Mutex
	manifests := []uint64{1}
	for open := 0; open < 4; open++ {
		for i := 0; i < 50; i++ {
			mu.Lock()
			e := randomEdit(rng, vs)
			require.NoError(t, vs.LogAndApply(e, &mu), "seed %d", seed)
			mu.Unlock()
		}
		mu.Lock()
		want := stateOf(vs)
		usedNext := vs.nextFileNum
		manifests = append(manifests, vs.ManifestFileNumber())
		mu.Unlock()
		require.NoError(t, vs.Close())
		require.Equal(t, fmt.Sprintf("MANIFEST-%06d\n", manifests[len(manifests)-1]), currentOf(t, fs))
		require.NotEqual(t, manifests[len(manifests)-2], manifests[len(manifests)-1], "a new MANIFEST per open")

		var err error
		vs, err = Recover(fs, testDir, testICmp, nil)
		require.NoError(t, err)
		require.Equal(t, want, stateOf(vs), "seed %d", seed)
		require.GreaterOrEqual(t, vs.nextFileNum, usedNext, "file numbers are never handed out twice")
		require.Equal(t, manifests[len(manifests)-1], vs.ManifestFileNumber())
	}
	for _, n := range manifests {
		_, err := fs.Stat(filenames.Path(testDir, filenames.Manifest, n))
		require.NoError(t, err, "old MANIFESTs are the DB's to delete")
	}
	for _, name := range listDir(t, fs) {
		kind, _, _ := filenames.Parse(name)
		require.NotEqual(t, filenames.Temp, kind, "no temporary file left behind: %s", name)
	}
	require.NoError(t, vs.Close())
}

// The edit's counters are filled in as leveldb fills them, and a set log number is checked.
func TestLogAndApplyFillsEdit(t *testing.T) {
	_, vs := newTestVersionSet(t)
	var mu sync.Mutex
	mu.Lock()
	defer mu.Unlock()
	vs.SetLastSequence(42)
	n := vs.NewFileNumber()
	var e VersionEdit
	require.NoError(t, vs.LogAndApply(&e, &mu))
	require.True(t, e.HasLogNum && e.HasPrevLogNum && e.HasNextFileNum && e.HasLastSeq)
	require.Equal(t, uint64(0), e.LogNum)
	require.Equal(t, n+1, e.NextFileNum)
	require.Equal(t, keys.SeqNum(42), e.LastSeq)

	var bad VersionEdit
	bad.SetLogNum(vs.nextFileNum)
	require.ErrorIs(t, vs.LogAndApply(&bad, &mu), dberr.ErrInvalidArgument)
	bad = VersionEdit{}
	bad.AddCompactPointer(NumLevels, ikey(t, "a#1,SET"))
	require.ErrorIs(t, vs.LogAndApply(&bad, &mu), dberr.ErrInvalidArgument)

	e = VersionEdit{}
	e.SetLogNum(n)
	require.NoError(t, vs.LogAndApply(&e, &mu))
	require.Equal(t, n, vs.LogNumber())
	e = VersionEdit{}
	e.SetLogNum(n - 1)
	require.ErrorIs(t, vs.LogAndApply(&e, &mu), dberr.ErrInvalidArgument, "log numbers never go back")
	require.NoError(t, vs.Close())
	require.ErrorIs(t, vs.LogAndApply(&VersionEdit{}, &mu), dberr.ErrClosed)
}

// A bad edit is refused before anything is written.
func TestLogAndApplyRejectsBadEdit(t *testing.T) {
	fs, vs, mu := newVersionSetWithFile(t, 1)
	before := fs.String()
	cur := vs.Current()

	for name, e := range map[string]*VersionEdit{
		"missing file": func() *VersionEdit { var e VersionEdit; e.DeleteFile(1, 999); return &e }(),
		"wrong level":  func() *VersionEdit { var e VersionEdit; e.DeleteFile(2, 3); return &e }(),
		"added twice":  func() *VersionEdit { var e VersionEdit; e.AddFile(4, meta(t, 3, 1, "x#1,SET", "y#1,SET")); return &e }(),
		"overlap": func() *VersionEdit {
			var e VersionEdit
			e.AddFile(1, meta(t, 50, 1, "b#1,SET", "d#1,SET"))
			return &e
		}(),
		"short key": func() *VersionEdit {
			var e VersionEdit
			e.AddFile(1, &FileMetadata{Num: 51, Smallest: []byte("x"), Largest: ikey(t, "y#1,SET")})
			return &e
		}(),
	} {
		err := apply(vs, mu, e)
		require.ErrorIs(t, err, dberr.ErrInvalidArgument, name)
		require.Same(t, cur, vs.Current(), name)
		require.Equal(t, before, fs.String(), name)
	}
	require.NoError(t, vs.Close())
}

// Writing CURRENT replaces it in one rename: while the new MANIFEST is being installed, CURRENT
// holds the old name, and afterwards the new one; the temporary file is gone.
func TestCurrentReplacedAtomically(t *testing.T) {
	mem, vs := newTestVersionSet(t)
	require.NoError(t, vs.Close())

	var seen []string
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpRename {
			seen = append(seen, currentOf(t, mem), string(filetest.Read(t, mem, path)))
		}
		return nil
	}))
	vs, err := Recover(fs, testDir, testICmp, nil)
	require.NoError(t, err)
	var mu sync.Mutex
	require.NoError(t, apply(vs, &mu, &VersionEdit{}))
	require.Equal(t, []string{"MANIFEST-000001\n", "MANIFEST-000002\n"}, seen)
	require.Equal(t, "MANIFEST-000002\n", currentOf(t, mem))
	require.Equal(t, []string{"CURRENT", "MANIFEST-000001", "MANIFEST-000002"}, listDir(t, mem))
	require.NoError(t, vs.Close())

	// A failed rename leaves CURRENT alone and removes both new files.
	vs, err = Recover(vfs.WithFaults(mem, vfs.OnPath(func(string) bool { return true }, vfs.ErrInjected, vfs.OpRename)), testDir, testICmp, nil)
	require.NoError(t, err)
	err = apply(vs, &mu, &VersionEdit{})
	require.ErrorIs(t, err, vfs.ErrInjected)
	require.Equal(t, "MANIFEST-000002\n", currentOf(t, mem))
	require.Equal(t, []string{"CURRENT", "MANIFEST-000001", "MANIFEST-000002"}, listDir(t, mem))
	require.Equal(t, uint64(2), vs.ManifestFileNumber())
	require.NoError(t, vs.Close())
}

func TestRecoverErrors(t *testing.T) {
	current := filepath.Join(testDir, filenames.CurrentName)
	manifest1 := filenames.Path(testDir, filenames.Manifest, 1)
	other := keys.NewInternalComparator(testcmp.Other{})
	addFile := func(level int, num uint64, smallest, largest string) *VersionEdit {
		var e VersionEdit
		e.AddFile(level, meta(t, num, 1, smallest, largest))
		return &e
	}
	deleteFile := func(level int, num uint64) *VersionEdit {
		var e VersionEdit
		e.DeleteFile(level, num)
		return &e
	}
	only := func(set func(e *VersionEdit)) *VersionEdit {
		var e VersionEdit
		set(&e)
		return &e
	}

	cases := []struct {
		name  string
		setup func(t *testing.T, fs vfs.FS)
		icmp  *keys.InternalComparator
		check func(t *testing.T, err error)
	}{
		{"MissingCURRENT", func(*testing.T, vfs.FS) {}, nil, func(t *testing.T, err error) {
			require.ErrorIs(t, err, os.ErrNotExist)
			require.NotErrorIs(t, err, dberr.ErrCorruption)
			require.Contains(t, err.Error(), current)
		}},
		{"EmptyCURRENT", func(t *testing.T, fs vfs.FS) { filetest.Write(t, fs, current, nil) }, nil, corruptIn(current, "empty")},
		{"CURRENTWithoutNewline", func(t *testing.T, fs vfs.FS) { filetest.Write(t, fs, current, []byte("MANIFEST-000001")) }, nil,
			corruptIn(current, "does not end with a newline")},
		{"CURRENTNotAManifest", func(t *testing.T, fs vfs.FS) { filetest.Write(t, fs, current, []byte("../etc/passwd\n")) }, nil,
			corruptIn(current, "not the name of a MANIFEST")},
		{"CURRENTWithCRLF", func(t *testing.T, fs vfs.FS) { filetest.Write(t, fs, current, []byte("MANIFEST-000001\r\n")) }, nil,
			corruptIn(current, "not the name of a MANIFEST")},
		{"CURRENTTooLong", func(t *testing.T, fs vfs.FS) { filetest.Write(t, fs, current, bytes.Repeat([]byte("x"), 5000)) }, nil,
			corruptIn(current, "longer than")},
		{"CURRENTNamesMissingManifest", func(t *testing.T, fs vfs.FS) { filetest.Write(t, fs, current, []byte("MANIFEST-000007\n")) }, nil,
			func(t *testing.T, err error) {
				corruptIn(current, "names MANIFEST-000007, which does not exist")(t, err)
				require.NotErrorIs(t, err, os.ErrNotExist, "a broken DB must not look like no DB")
			}},
		{"ComparatorMismatch", func(t *testing.T, fs vfs.FS) { writeManifest(t, fs, 1, baseEdit()) }, other,
			func(t *testing.T, err error) {
				require.ErrorIs(t, err, dberr.ErrInvalidArgument)
				require.Contains(t, err.Error(), keys.BytewiseName)
				require.Contains(t, err.Error(), "test.Other")
			}},
		{"NoNextFile", func(t *testing.T, fs vfs.FS) {
			writeManifest(t, fs, 1, only(func(e *VersionEdit) { e.SetLogNum(1); e.SetLastSeq(1) }))
		}, nil, corruptIn(manifest1, "no next-file-number entry")},
		{"NoLogNumber", func(t *testing.T, fs vfs.FS) {
			writeManifest(t, fs, 1, only(func(e *VersionEdit) { e.SetNextFileNum(5); e.SetLastSeq(1) }))
		}, nil, corruptIn(manifest1, "no log-number entry")},
		{"NoLastSequence", func(t *testing.T, fs vfs.FS) {
			writeManifest(t, fs, 1, only(func(e *VersionEdit) { e.SetNextFileNum(5); e.SetLogNum(1) }))
		}, nil, corruptIn(manifest1, "no last-sequence entry")},
		{"EmptyManifest", func(t *testing.T, fs vfs.FS) { writeManifest(t, fs, 1) }, nil,
			corruptIn(manifest1, "no next-file-number entry in 0 records")},
		{"DeleteMissingFile", func(t *testing.T, fs vfs.FS) { writeManifest(t, fs, 1, baseEdit(), deleteFile(1, 4)) }, nil,
			corruptIn(manifest1, "deletes file 000004 from L1")},
		{"AddFileTwice", func(t *testing.T, fs vfs.FS) {
			writeManifest(t, fs, 1, baseEdit(), addFile(0, 4, "a#1,SET", "b#1,SET"), addFile(2, 4, "a#1,SET", "b#1,SET"))
		}, nil, corruptIn(manifest1, "adds file 000004 to L2, but L0 already holds it")},
		{"OverlappingL1", func(t *testing.T, fs vfs.FS) {
			writeManifest(t, fs, 1, baseEdit(), addFile(1, 4, "a#1,SET", "c#1,SET"), addFile(1, 5, "b#1,SET", "d#1,SET"))
		}, nil, corruptIn(manifest1, "L1 would hold overlapping files")},
		{"BadEdit", func(t *testing.T, fs vfs.FS) {
			var buf bytes.Buffer
			w := wal.NewWriter(nopSyncer{&buf})
			require.NoError(t, w.AddRecord(baseEdit().Encode(nil)))
			require.NoError(t, w.AddRecord([]byte{8}))
			filetest.Write(t, fs, manifest1, buf.Bytes())
			filetest.Write(t, fs, current, []byte("MANIFEST-000001\n"))
		}, nil, func(t *testing.T, err error) {
			corruptIn(manifest1, "tag 8 is unknown")(t, err)
			var ce *dberr.CorruptionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, int64(7+len(baseEdit().Encode(nil))), ce.Offset, "the offset of the second record")
		}},
		{"ChecksumMismatchInMiddle", func(t *testing.T, fs vfs.FS) {
			var buf bytes.Buffer
			w := wal.NewWriter(nopSyncer{&buf})
			require.NoError(t, w.AddRecord(baseEdit().Encode(nil)))
			require.NoError(t, w.AddRecord(addFile(0, 4, "a#1,SET", "b#1,SET").Encode(nil)))
			require.NoError(t, w.AddRecord(addFile(0, 5, "a#1,SET", "b#1,SET").Encode(nil)))
			b := buf.Bytes()
			b[len(baseEdit().Encode(nil))+7+10] ^= 1
			filetest.Write(t, fs, manifest1, b)
			filetest.Write(t, fs, current, []byte("MANIFEST-000001\n"))
		}, nil, corruptIn(manifest1, "checksum mismatch")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newMemDB(t)
			c.setup(t, fs)
			before := fs.String()
			icmp := c.icmp
			if icmp == nil {
				icmp = testICmp
			}
			vs, err := Recover(fs, testDir, icmp, nil)
			require.Nil(t, vs)
			require.Error(t, err)
			c.check(t, err)
			require.Equal(t, before, fs.String(), "Recover changes nothing on disk")
		})
	}
}

func corruptIn(file, reason string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		require.ErrorIs(t, err, dberr.ErrCorruption)
		var ce *dberr.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, file, ce.File)
		require.Contains(t, err.Error(), reason)
	}
}

// A MANIFEST whose last record is torn recovers the edits before it and says so in the log.
func TestRecoverTornTail(t *testing.T) {
	fs, vs, mu := newVersionSetWithFile(t, 0)
	want := stateOf(vs)
	require.NoError(t, vs.Close())

	// Append a record, then cut it short.
	path := filenames.Path(testDir, filenames.Manifest, vs.ManifestFileNumber())
	data := filetest.Read(t, fs, path)
	var buf bytes.Buffer
	w := wal.NewAppendWriter(nopSyncer{&buf}, int64(len(data)))
	var e VersionEdit
	e.AddFile(0, meta(t, 77, 10, "x#1,SET", "y#1,SET"))
	require.NoError(t, w.AddRecord(e.Encode(nil)))
	filetest.Write(t, fs, path, append(data, buf.Bytes()[:buf.Len()-3]...))

	var logged []string
	opts := &Options{Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}
	vs, err := Recover(fs, testDir, testICmp, opts)
	require.NoError(t, err)
	require.Equal(t, want, stateOf(vs))
	require.NotEmpty(t, logged)
	require.Contains(t, logged[0], "torn record")

	// The next edit goes to a new MANIFEST, not after the torn record.
	e = VersionEdit{}
	e.AddFile(0, meta(t, vs.NewFileNumber(), 10, "m#1,SET", "n#1,SET"))
	require.NoError(t, apply(vs, mu, &e))
	want = stateOf(vs)
	vs = reopen(t, fs, vs)
	require.Equal(t, want, stateOf(vs))
}

// AddLiveFiles covers every Version a reader still holds, and forgets one once it is released.
func TestRefCountingAndLiveFiles(t *testing.T) {
	_, vs := newTestVersionSet(t)
	var mu sync.Mutex
	var e VersionEdit
	e.AddFile(0, meta(t, 7, 10, "a#1,SET", "c#1,SET"))
	e.AddFile(0, meta(t, 8, 10, "a#2,SET", "c#2,SET"))
	vs.MarkFileNumberUsed(8)
	require.NoError(t, apply(vs, &mu, &e))

	mu.Lock()
	old := vs.Current()
	old.Ref()
	mu.Unlock()

	e = VersionEdit{}
	e.DeleteFile(0, 7)
	e.DeleteFile(0, 8)
	e.AddFile(1, meta(t, 9, 20, "a#2,SET", "c#1,SET"))
	vs.MarkFileNumberUsed(9)
	require.NoError(t, apply(vs, &mu, &e))

	live := map[uint64]struct{}{}
	vs.AddLiveFiles(live)
	require.Equal(t, map[uint64]struct{}{7: {}, 8: {}, 9: {}}, live)
	require.Equal(t, 2, old.NumFiles(0), "an old Version does not change")

	// Unref from another goroutine, without the DB's mutex.
	done := make(chan struct{})
	go func() { old.Unref(); close(done) }()
	<-done
	live = map[uint64]struct{}{}
	vs.AddLiveFiles(live)
	require.Equal(t, map[uint64]struct{}{9: {}}, live)
	require.Panics(t, func() { old.Unref() })
	require.NoError(t, vs.Close())
}

// Concurrent LogAndApply calls queue up and all land; readers use Versions meanwhile. Run with
// -race.
func TestConcurrentLogAndApply(t *testing.T) {
	fs, vs := newTestVersionSet(t)
	var mu sync.Mutex
	const writers, perWriter = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				mu.Lock()
				n := vs.NewFileNumber()
				vs.SetLastSequence(vs.LastSequence() + 1)
				var e VersionEdit
				k := fmt.Sprintf("k%06d", n)
				e.AddFile(0, &FileMetadata{Num: n, Size: 1,
					Smallest: keys.AppendInternalKey(nil, []byte(k), 1, keys.KindSet),
					Largest:  keys.AppendInternalKey(nil, []byte(k), 1, keys.KindSet)})
				err := vs.LogAndApply(&e, &mu)
				mu.Unlock()
				require.NoError(t, err)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []Candidate
			for i := 0; i < perWriter; i++ {
				mu.Lock()
				v := vs.Current()
				v.Ref()
				mu.Unlock()
				buf = v.AppendCandidates(buf[:0], keys.AppendInternalKey(nil, []byte("k000010"), 100, keys.KindMax))
				_ = v.String()
				live := map[uint64]struct{}{}
				vs.AddLiveFiles(live)
				v.Unref()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	want := stateOf(vs)
	require.Equal(t, writers*perWriter, vs.NumLevelFiles(0))
	mu.Unlock()
	vs = reopen(t, fs, vs)
	require.Equal(t, want, stateOf(vs))
}

// AppendCandidates allocates nothing when the caller's slice has room, and Overlaps' view of a
// level cannot be appended into the Version.
func TestVersionQueriesDoNotAllocateOrAlias(t *testing.T) {
	var e VersionEdit
	e.AddFile(0, meta(t, 10, 1, "a#10,SET", "z#10,SET"))
	e.AddFile(0, meta(t, 11, 1, "a#11,SET", "z#11,SET"))
	e.AddFile(1, meta(t, 20, 1, "a#5,SET", "c#5,SET"))
	e.AddFile(1, meta(t, 21, 1, "d#5,SET", "f#5,SET"))
	e.AddFile(2, meta(t, 30, 1, "a#1,SET", "z#1,SET"))
	b := newBuilder(testICmp, DefaultOptions(), nil)
	require.NoError(t, b.apply(&e))
	v, err := b.build()
	require.NoError(t, err)

	lookup := keys.AppendInternalKey(nil, []byte("b"), 100, keys.KindMax)
	buf := make([]Candidate, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		buf = v.AppendCandidates(buf[:0], lookup)
	})
	require.Zero(t, allocs)
	require.Len(t, buf, 4)
	require.Equal(t, uint64(11), buf[0].File.Num, "newest level-0 file first")
	lo, hi := []byte("b"), []byte("e")
	require.Zero(t, testing.AllocsPerRun(100, func() { v.OverlapInLevel(1, lo, hi) }))

	view := v.Overlaps(1, []byte("a"), []byte("b"))
	require.Len(t, view, 1)
	_ = append(view, nil)
	require.Equal(t, uint64(21), v.Levels[1][1].Num)
}

// A new file's allowed seeks follow leveldb's rule: one per 16 KiB, at least 100.
func TestAllowedSeeks(t *testing.T) {
	var e VersionEdit
	e.AddFile(1, meta(t, 1, 1000, "a#1,SET", "b#1,SET"))
	e.AddFile(1, meta(t, 2, 16<<10*1000, "c#1,SET", "d#1,SET"))
	b := newBuilder(testICmp, DefaultOptions(), nil)
	require.NoError(t, b.apply(&e))
	v, err := b.build()
	require.NoError(t, err)
	require.Equal(t, int64(100), v.Levels[1][0].AllowedSeeks.Load())
	require.Equal(t, int64(1000), v.Levels[1][1].AllowedSeeks.Load())
	require.Equal(t, int64(0), e.NewFiles[0].Meta.AllowedSeeks.Load(), "the edit's metadata is not the Version's")
}

func TestOptionsDefaults(t *testing.T) {
	o := DefaultOptions()
	require.Equal(t, 4, o.L0CompactionTrigger)
	require.Equal(t, 8, o.L0SlowdownWritesTrigger)
	require.Equal(t, 12, o.L0StopWritesTrigger)
	require.Equal(t, 2, o.MaxMemCompactLevel)
	require.Equal(t, int64(2<<20), o.TargetFileSize)
	require.Equal(t, float64(10<<20), o.MaxBytesForLevel(1))
	require.Equal(t, float64(100<<20), o.MaxBytesForLevel(2))
	require.Equal(t, float64(10<<20)*1e4, o.MaxBytesForLevel(5))
	require.Equal(t, int64(20<<20), o.MaxGrandparentOverlapBytes())
	require.Equal(t, int64(50<<20), o.ExpandedCompactionByteSizeLimit())
	var nilOpts *Options
	require.Equal(t, o.MaxBytesForLevel(3), nilOpts.MaxBytesForLevel(3))
	require.Equal(t, 6, (&Options{MaxMemCompactLevel: 9}).normalized().MaxMemCompactLevel)
}

// File numbers: handed out once, reusable only when last, and marked numbers skipped.
func TestFileNumbers(t *testing.T) {
	_, vs := newTestVersionSet(t)
	n := vs.NewFileNumber()
	require.Equal(t, uint64(3), n)
	vs.ReuseFileNumber(n)
	require.Equal(t, n, vs.NewFileNumber())
	m := vs.NewFileNumber()
	vs.ReuseFileNumber(n)
	require.Equal(t, m+1, vs.NewFileNumber(), "only the last number handed out can be given back")
	vs.MarkFileNumberUsed(100)
	require.Equal(t, uint64(101), vs.NewFileNumber())
	vs.MarkFileNumberUsed(50)
	require.Equal(t, uint64(102), vs.NewFileNumber())
	require.Panics(t, func() { vs.SetLastSequence(5); vs.SetLastSequence(4) })
	require.NoError(t, vs.Close())
	require.NoError(t, vs.Close(), "Close twice is fine")
}
