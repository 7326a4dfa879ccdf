package db

// FuzzOpen opens a DB directory whose files are fuzzed: CURRENT, the MANIFEST, a log and a table
// of a small valid DB (written by fuzzOpenSeedDB), with the log's and table's file numbers fuzzed
// too. Open must return an error or a working DB: Gets, scans both ways, seeks, a write and a
// CompactRange must not panic or hang, and every error must wrap ErrCorruption (or be
// ErrNotFound for a Get). The seeds are the valid DB, the same with each file damaged a few ways,
// and testdata/fuzz/FuzzOpen (written by TestWriteFuzzOpenSeeds). Run it with
// go test -run '^$' -fuzz '^FuzzOpen$' -fuzztime 30s ./db/.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/vfs"
)

// fuzzOpenMax caps each fuzzed file: larger inputs only slow the fuzzer down.
const fuzzOpenMax = 64 << 10

// fuzzOpenFiles are the files of a DB directory FuzzOpen builds.
type fuzzOpenFiles struct {
	current, manifest, log, table []byte
	logNum, tableNum              uint16
}

// fuzzOpenSeedDB writes a small valid DB and returns its files: a table from a flush (with a
// deletion, an overwrite and an empty value), a log of later writes, a MANIFEST of a few edits.
func fuzzOpenSeedDB(t testing.TB) fuzzOpenFiles {
	mem := vfs.NewMem()
	d := openMem(t, mem, &Options{BlockSize: 1 << 10, BlockRestartInterval: 4})
	for i := range 40 {
		require.NoError(t, d.Put(fmt.Appendf(nil, "key%02d", i), bytes.Repeat([]byte{byte('a' + i%26)}, i*7), nil))
	}
	require.NoError(t, d.Delete([]byte("key03"), nil))
	require.NoError(t, d.Put([]byte("key05"), nil, nil))
	require.NoError(t, d.flushMemTable())
	var b Batch
	b.Put([]byte("key07"), []byte("new"))
	b.Delete([]byte("key08"))
	b.Put([]byte("zz"), []byte("last"))
	require.NoError(t, d.Write(&b, &WriteOptions{Sync: true}))
	require.NoError(t, d.Put([]byte("key01"), []byte("logged"), &WriteOptions{Sync: true}))
	require.NoError(t, d.Close())

	var files fuzzOpenFiles
	names, err := mem.List("/db")
	require.NoError(t, err)
	for _, n := range names {
		kind, num, ok := filenames.Parse(n)
		if !ok {
			continue
		}
		data, err := filetest.ReadErr(mem, filepath.Join("/db", n))
		require.NoError(t, err)
		switch kind {
		case filenames.Current:
			files.current = data
		case filenames.Manifest:
			files.manifest = data
		case filenames.Log:
			files.log, files.logNum = data, uint16(num)
		case filenames.Table:
			files.table, files.tableNum = data, uint16(num)
		}
	}
	require.NotNil(t, files.manifest)
	require.NotNil(t, files.log)
	require.NotNil(t, files.table)
	return files
}

// fuzzOpenSeeds returns the valid DB's files and damaged variants of them.
func fuzzOpenSeeds(t testing.TB) []fuzzOpenFiles {
	good := fuzzOpenSeedDB(t)
	seeds := []fuzzOpenFiles{good}
	flip := func(b []byte, off int) []byte {
		b = bytes.Clone(b)
		if len(b) > 0 {
			b[off%len(b)] ^= 0x20
		}
		return b
	}
	for _, off := range []int{0, 5, 6, 20, 1 << 20} {
		s := good
		s.manifest = flip(good.manifest, off)
		seeds = append(seeds, s)
		s = good
		s.log = flip(good.log, off)
		seeds = append(seeds, s)
		s = good
		s.table = flip(good.table, len(good.table)-1-off%len(good.table))
		seeds = append(seeds, s)
	}
	s := good
	s.manifest = good.manifest[:len(good.manifest)/2]
	seeds = append(seeds, s)
	s = good
	s.log = good.log[:len(good.log)-3]
	seeds = append(seeds, s)
	s = good
	s.current = []byte("MANIFEST-000001\n")
	seeds = append(seeds, s)
	s = good
	s.tableNum++
	seeds = append(seeds, s)
	return seeds
}

func FuzzOpen(f *testing.F) {
	for _, s := range fuzzOpenSeeds(f) {
		f.Add(s.current, s.manifest, s.log, s.table, s.logNum, s.tableNum)
	}
	f.Fuzz(func(t *testing.T, current, manifest, log, table []byte, logNum, tableNum uint16) {
		if len(current) > fuzzOpenMax || len(manifest) > fuzzOpenMax || len(log) > fuzzOpenMax || len(table) > fuzzOpenMax {
			return
		}
		fuzzOpenDir(t, fuzzOpenFiles{current, manifest, log, table, logNum, tableNum})
	})
}

// fuzzOpenFS writes files to a new MemFS, synced: the MANIFEST goes where CURRENT points, when
// CURRENT names one.
func fuzzOpenFS(t *testing.T, files fuzzOpenFiles) *vfs.MemFS {
	mem := vfs.NewMem()
	require.NoError(t, mem.MkdirAll("/db", 0o755))
	manifestName := filenames.Name(filenames.Manifest, 2)
	if name := strings.TrimSuffix(string(files.current), "\n"); !strings.ContainsAny(name, "/\\\x00") {
		if kind, _, ok := filenames.Parse(name); ok && kind == filenames.Manifest {
			manifestName = name
		}
	}
	write := func(name string, data []byte) { filetest.Write(t, mem, filepath.Join("/db", name), data) }
	write(filenames.CurrentName, files.current)
	write(manifestName, files.manifest)
	write(filenames.Name(filenames.Log, uint64(files.logNum)), files.log)
	if files.tableNum != files.logNum {
		write(filenames.Name(filenames.Table, uint64(files.tableNum)), files.table)
	}
	require.NoError(t, mem.SyncDir("/db"))
	require.NoError(t, mem.SyncDir("/"))
	return mem
}

// fuzzOpenDir opens and uses the DB files make, with and without ParanoidChecks; see FuzzOpen.
func fuzzOpenDir(t *testing.T, files fuzzOpenFiles) {
	mem := fuzzOpenFS(t, files)
	for _, paranoid := range []bool{false, true} {
		fs := mem.CrashClone() // each open from the same files: Open rewrites the directory
		d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid, BlockSize: 1 << 10})
		if err != nil {
			if !errors.Is(err, ErrCorruption) && !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Open (paranoid %v): an error that is not corruption: %v", paranoid, err)
			}
			continue
		}
		fuzzUseDB(t, d)
	}
}

// fuzzUseDB reads d every way, writes to it, compacts and closes it. Errors must wrap
// ErrCorruption; nothing may panic.
func fuzzUseDB(t *testing.T, d *DB) {
	ok := func(err error, what string) {
		if err != nil && !errors.Is(err, ErrCorruption) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for _, k := range []string{"", "key00", "key03", "key05", "key07", "key08", "key39", "zz", "zzz"} {
		for _, verify := range []bool{false, true} {
			if _, err := d.Get([]byte(k), &ReadOptions{VerifyChecksums: verify}); !isNotFound(err) {
				ok(err, "Get")
			}
		}
	}
	for _, reverse := range []bool{false, true} {
		it := d.NewIterator(&ReadOptions{VerifyChecksums: reverse})
		valid := it.First()
		if reverse {
			valid = it.Last()
		}
		var prev []byte
		for n := 0; valid && n < 100000; n++ {
			if prev != nil && (bytes.Compare(prev, it.Key()) >= 0) != reverse {
				t.Fatalf("scan (reverse %v): %q after %q", reverse, it.Key(), prev)
			}
			prev = append(prev[:0], it.Key()...)
			_ = it.Value()
			if reverse {
				valid = it.Prev()
			} else {
				valid = it.Next()
			}
		}
		ok(it.Error(), "scan")
		it.Seek([]byte("key2"))
		it.SeekLT([]byte("key2"))
		ok(it.Close(), "iterator Close")
	}
	ok(d.Put([]byte("key10"), []byte("fuzz"), &WriteOptions{Sync: true}), "Put")
	ok(d.CompactRange(nil, nil), "CompactRange")
	if _, err := d.Get([]byte("key10"), nil); !isNotFound(err) {
		ok(err, "Get after CompactRange")
	}
	ok(d.Close(), "Close")
}

// TestFuzzOpenSeeds runs FuzzOpen's body on its seeds, as a plain test (go test runs the f.Add
// seeds and testdata/fuzz too; this also checks the valid seed opens with its data).
func TestFuzzOpenSeeds(t *testing.T) {
	seeds := fuzzOpenSeeds(t)
	for _, s := range seeds {
		fuzzOpenDir(t, s)
	}
	// The valid seed, as fuzzOpenDir lays it out, opens with its data.
	mem := fuzzOpenFS(t, seeds[0]).CrashClone()
	d := openMem(t, mem, nil)
	v, err := d.Get([]byte("key01"), nil)
	require.NoError(t, err)
	require.Equal(t, "logged", string(v))
	v, err = d.Get([]byte("key39"), nil)
	require.NoError(t, err)
	require.Len(t, v, 39*7)
	_, err = d.Get([]byte("key03"), nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, d.Close())
}

// TestWriteFuzzOpenSeeds writes the seeds of FuzzOpen to testdata/fuzz/FuzzOpen when
// $STRATA_WRITE_FUZZ_SEEDS=1 (after a change of the DB's file layout, say).
func TestWriteFuzzOpenSeeds(t *testing.T) {
	if os.Getenv("STRATA_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("writes testdata/fuzz/FuzzOpen when STRATA_WRITE_FUZZ_SEEDS=1")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	seeds := fuzzOpenSeeds(t)
	// The valid DB; its MANIFEST, log and table each damaged once; a cut MANIFEST and log.
	for _, i := range []int{0, 1, 2, 3, len(seeds) - 4, len(seeds) - 3} {
		s := seeds[i]
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, data := range [][]byte{s.current, s.manifest, s.log, s.table} {
			fmt.Fprintf(&b, "[]byte(%q)\n", data)
		}
		fmt.Fprintf(&b, "uint16(%d)\nuint16(%d)\n", s.logNum, s.tableNum)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(b.String()), 0o644))
	}
}
