package sstable

// Compatibility with C++ leveldb 1.23, without cgo: the fixtures in testdata/leveldb/ and
// testdata/broken/ were written by C++ leveldb (generator in testdata/gen, contents defined by
// internal/testutil/tablespec), and Strata must read every one of them exactly, on both read
// paths (a mapped OS file and ReadAt over an in-memory file), using their bloom filters; must
// report every broken one as corruption naming the file; and must write the uncompressed ones
// back byte for byte. The cgo tests in interop_cleveldb_test.go check the other direction.
//
// Identifiers here start with "compat" so that they never collide with the other test files of
// the package.

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/tablespec"
	"github.com/stratadb/strata/vfs"
)

var (
	compatGoodDir   = filepath.Join("testdata", "leveldb")
	compatBrokenDir = filepath.Join("testdata", "broken")
)

// compatAbsentKeys is how many absent keys each fixture is probed with.
const compatAbsentKeys = 2000

// compatStride thins the per-key seeks and Gets under the race detector, which finds nothing in
// these single-goroutine checks and makes them ten times slower; scans stay complete, and
// plain `go test` checks every key.
func compatStride() int {
	if raceEnabled {
		return 7
	}
	return 1
}

// compatCountingFilter wraps a policy under its own name and counts how often a Reader asks it
// about a key (calls) and how often it rules the key out (negatives). Being a wrapper, it also
// takes the Reader off its direct bloom fast path, so every question reaches MayContain.
type compatCountingFilter struct {
	FilterPolicy
	calls, negatives atomic.Int64
}

func (c *compatCountingFilter) MayContain(filter, key []byte) bool {
	c.calls.Add(1)
	ok := c.FilterPolicy.MayContain(filter, key)
	if !ok {
		c.negatives.Add(1)
	}
	return ok
}

// compatOpened is a fixture opened on one read path.
type compatOpened struct {
	r      *Reader
	filter *compatCountingFilter
	file   *countingFile // nil on the mapped path
}

// compatPath is one way of opening a table file: "mapped" opens it on the OS filesystem, where
// the Reader maps it; "readat" copies it into a MemFS and reads it with ReadAt.
type compatPath struct {
	name string
	open func(t testing.TB, path string, ro ReaderOptions) (*Reader, *countingFile, error)
}

var compatPaths = []compatPath{
	{"mapped", func(t testing.TB, path string, ro ReaderOptions) (*Reader, *countingFile, error) {
		f, err := vfs.NewOS().Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		fi, err := f.Stat()
		require.NoError(t, err)
		r, err := Open(f, path, fi.Size(), ro)
		if err == nil {
			require.True(t, r.Mapped() || fi.Size() == 0, "an OS file must be read through the mapping")
		}
		return r, nil, err
	}},
	{"readat", func(t testing.TB, path string, ro ReaderOptions) (*Reader, *countingFile, error) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		fs := vfs.NewMem()
		name := "/" + filepath.Base(path)
		w, err := fs.Create(name)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		f, err := fs.Open(name)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		cf := &countingFile{File: f}
		// The Reader is told the fixture's path, so errors must name it.
		r, err := Open(cf, path, int64(len(data)), ro)
		if err == nil {
			require.False(t, r.Mapped())
		}
		return r, cf, err
	}},
}

// compatReaderOptions returns the options a DB (for internal-key specs) or a plain user reads
// the spec's table with, with a counting bloom policy; tables without a filter block simply
// never consult it.
func compatReaderOptions(s tablespec.Spec) (ReaderOptions, *compatCountingFilter) {
	f := &compatCountingFilter{FilterPolicy: NewBloomPolicy(10)}
	ro := ReaderOptions{Filter: f}
	if s.InternalKeys {
		ro.Comparator = keys.NewInternalComparator(keys.Bytewise)
		ro.FilterKey = keys.UserKey
	}
	return ro, f
}

func compatOpen(t testing.TB, p compatPath, path string, s tablespec.Spec) compatOpened {
	t.Helper()
	ro, f := compatReaderOptions(s)
	r, cf, err := p.open(t, path, ro)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return compatOpened{r: r, filter: f, file: cf}
}

// compatForgetChecked clears the Reader's record of which data blocks passed their checks, and
// compatBlocksUsed counts the blocks used since. Without a block cache every data block a
// Reader uses passes dataBlock's check-once step and sets its bit, on both read paths, so a
// lookup that leaves no bit set never reached a data block.
func compatForgetChecked(r *Reader) {
	for i := range r.checked {
		r.checked[i].Store(0)
	}
}

func compatBlocksUsed(r *Reader) int {
	n := 0
	for i := range r.checked {
		n += bits.OnesCount32(r.checked[i].Load())
	}
	return n
}

// compatCompare is the spec's key order.
func compatCompare(s tablespec.Spec) func(a, b []byte) int {
	if s.InternalKeys {
		return keys.NewInternalComparator(keys.Bytewise).Compare
	}
	return bytes.Compare
}

// compatUserKey is the user key of a table key of the spec.
func compatUserKey(s tablespec.Spec, k []byte) []byte {
	if s.InternalKeys {
		return keys.UserKey(k)
	}
	return k
}

// compatEntry formats entry i briefly for failure messages.
func compatEntry(es []tablespec.Entry, i int) string {
	if i < 0 || i >= len(es) {
		return fmt.Sprintf("entry %d (none)", i)
	}
	k := es[i].Key
	if len(k) > 40 {
		k = k[:40]
	}
	return fmt.Sprintf("entry %d (key %q..., %d-byte key, %d-byte value)", i, k, len(es[i].Key), len(es[i].Value))
}

// compatRequireAt asserts that it is valid at want[i], or invalid without error when i is out
// of range.
func compatRequireAt(t *testing.T, it *Iterator, valid bool, want []tablespec.Entry, i int, what string) {
	t.Helper()
	if i < 0 || i >= len(want) {
		require.False(t, valid, "%s: want no entry, got key %q", what, it.Key())
		require.NoError(t, it.Error(), what)
		return
	}
	require.True(t, valid, "%s: want %s, iterator invalid (err %v)", what, compatEntry(want, i), it.Error())
	require.True(t, bytes.Equal(want[i].Key, it.Key()), "%s: want %s, got key %q", what, compatEntry(want, i), it.Key())
	require.True(t, bytes.Equal(want[i].Value, it.Value()), "%s: %s has a different value", what, compatEntry(want, i))
}

// TestCompatLeveldbFixtures reads every fixture C++ leveldb wrote, on both read paths: every
// entry by Get and by forward and reverse iteration, seeks to every key and to absent keys,
// and, for tables with a bloom filter, checks that absent keys are answered by the filter
// without reading a data block.
func TestCompatLeveldbFixtures(t *testing.T) {
	for _, s := range tablespec.Specs() {
		want := s.Entries()
		absent := s.AbsentKeys(compatAbsentKeys)
		path := filepath.Join(compatGoodDir, s.FileName())
		for _, p := range compatPaths {
			t.Run(s.Name+"/"+p.name, func(t *testing.T) {
				o := compatOpen(t, p, path, s)
				compatCheckLayout(t, o.r, s)
				compatCheckIteration(t, o.r, s, want)
				compatCheckSeeks(t, o.r, s, want, absent)
				compatCheckGets(t, o, s, want)
				compatCheckAbsent(t, o, p, s, absent)
			})
		}
	}
}

// compatCheckLayout checks what Open found: the filter block exactly when the spec has one.
func compatCheckLayout(t *testing.T, r *Reader, s tablespec.Spec) {
	l := r.Layout()
	if s.BloomBitsPerKey > 0 {
		require.Equal(t, BloomFilterName, l.FilterName, "the reader must use the table's filter")
		require.True(t, r.hasFilter())
	} else {
		require.Empty(t, l.FilterName)
		require.False(t, r.hasFilter())
	}
	if s.N >= 10000 {
		require.Greater(t, r.NumBlocks(), 100, "the spec promises over a hundred blocks")
	}
}

func compatCheckIteration(t *testing.T, r *Reader, s tablespec.Spec, want []tablespec.Entry) {
	for _, ro := range []ReadOptions{{}, {VerifyChecksums: true, DontFillCache: true}} {
		it := r.NewIterator(ro)
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			compatRequireAt(t, it, true, want, i, "forward scan")
			i++
		}
		require.NoError(t, it.Error())
		require.Equal(t, len(want), i, "forward scan: entries")

		i = len(want) - 1
		for ok := it.Last(); ok; ok = it.Prev() {
			compatRequireAt(t, it, true, want, i, "reverse scan")
			i--
		}
		require.NoError(t, it.Error())
		require.Equal(t, -1, i, "reverse scan: entries")
		require.NoError(t, it.Close())
	}
}

// compatCheckSeeks seeks to every key (SeekGE lands on it, SeekLT before it, and a step in
// each direction from there is right) and to every absent key (the first entry after it).
func compatCheckSeeks(t *testing.T, r *Reader, s tablespec.Spec, want []tablespec.Entry, absent [][]byte) {
	it := r.NewIterator(ReadOptions{})
	defer func() { require.NoError(t, it.Close()) }()
	for i := 0; i < len(want); i += compatStride() {
		e := want[i]
		compatRequireAt(t, it, it.SeekGE(e.Key), want, i, "SeekGE(present)")
		compatRequireAt(t, it, it.Prev(), want, i-1, "SeekGE(present)+Prev")
		compatRequireAt(t, it, it.SeekLT(e.Key), want, i-1, "SeekLT(present)")
		if i > 0 {
			compatRequireAt(t, it, it.Next(), want, i, "SeekLT(present)+Next")
		}
	}
	cmp := compatCompare(s)
	for j := 0; j < len(absent); j += compatStride() {
		k := absent[j]
		target := s.LookupKey(k)
		i := sort.Search(len(want), func(j int) bool { return cmp(want[j].Key, target) >= 0 })
		compatRequireAt(t, it, it.SeekGE(target), want, i, fmt.Sprintf("SeekGE(absent %q)", k))
		if i < len(want) {
			compatRequireAt(t, it, it.Next(), want, i+1, "SeekGE(absent)+Next")
		}
		compatRequireAt(t, it, it.SeekLT(target), want, i-1, fmt.Sprintf("SeekLT(absent %q)", k))
	}
}

// compatCheckGets finds every entry with Get. Present keys must pass the filter.
func compatCheckGets(t *testing.T, o compatOpened, s tablespec.Spec, want []tablespec.Entry) {
	var buf []byte
	calls0, neg0 := o.filter.calls.Load(), o.filter.negatives.Load()
	lookups := 0
	for i := 0; i < len(want); i += compatStride() {
		e := want[i]
		k, v, err := o.r.Get(buf[:0], e.Key, ReadOptions{VerifyChecksums: i%2 == 0})
		require.NoError(t, err, "Get %s", compatEntry(want, i))
		require.True(t, bytes.Equal(e.Key, k), "Get %s returned key %q", compatEntry(want, i), k)
		require.True(t, bytes.Equal(e.Value, v), "Get %s: value differs", compatEntry(want, i))
		buf = k
		lookups++

		// For internal keys, the DB's lookup key (user key, newest sequence, KindMax) lands on
		// the newest version: the first entry of each user key.
		if s.InternalKeys && (i == 0 || !bytes.Equal(keys.UserKey(want[i-1].Key), keys.UserKey(e.Key))) {
			k, v, err := o.r.Get(nil, s.LookupKey(keys.UserKey(e.Key)), ReadOptions{})
			require.NoError(t, err)
			require.True(t, bytes.Equal(e.Key, k), "lookup key of %s found %q", compatEntry(want, i), k)
			require.True(t, bytes.Equal(e.Value, v))
			lookups++
		}
	}
	calls, neg := o.filter.calls.Load()-calls0, o.filter.negatives.Load()-neg0
	if s.BloomBitsPerKey > 0 {
		require.Equal(t, int64(lookups), calls, "every Get of a present key asks the filter")
		require.Zero(t, neg, "the filter ruled out a present key")
	} else {
		require.Zero(t, calls)
	}
}

// compatCheckAbsent looks up absent keys: never found, and with a filter at least 95% of
// them never reach a data block. A data block is "reached" when the Reader's checked-block
// bitmap gains a bit or, on the ReadAt path, when the file sees a read.
func compatCheckAbsent(t *testing.T, o compatOpened, p compatPath, s tablespec.Spec, absent [][]byte) {
	calls0, neg0 := o.filter.calls.Load(), o.filter.negatives.Load()
	reached := 0
	for _, k := range absent {
		compatForgetChecked(o.r)
		var reads0 int64
		if o.file != nil {
			reads0 = o.file.readAts.Load()
		}
		gk, _, err := o.r.Get(nil, s.LookupKey(k), ReadOptions{})
		if err != nil {
			require.ErrorIs(t, err, dberr.ErrNotFound, "Get(absent %q)", k)
		} else {
			require.False(t, bytes.Equal(compatUserKey(s, gk), k), "absent key %q found", k)
		}
		used := compatBlocksUsed(o.r)
		require.LessOrEqual(t, used, 1, "a Get reads at most one data block")
		if o.file != nil {
			reads := o.file.readAts.Load() - reads0
			require.Equal(t, int64(used), reads, "on the ReadAt path a data block is one read")
		}
		reached += used
	}
	calls, neg := o.filter.calls.Load()-calls0, o.filter.negatives.Load()-neg0
	t.Logf("%s: %d absent keys: filter asked %d times, ruled out %d; %d reached a data block",
		p.name, len(absent), calls, neg, reached)
	if s.BloomBitsPerKey == 0 || o.r.NumBlocks() == 0 {
		require.Zero(t, calls)
		return
	}
	// Keys past the table's last index key end at the index, before the filter, and do not
	// count as calls; all others must be asked, and the filter must answer most.
	cmp, last := compatCompare(s), o.r.Layout().Index
	inRange := 0
	for _, k := range absent {
		if cmp(s.LookupKey(k), last[len(last)-1].Separator) <= 0 {
			inRange++
		}
	}
	require.Equal(t, int64(inRange), calls, "every absent key up to the last index key asks the filter")
	require.Greater(t, inRange, len(absent)/2)
	require.Equal(t, calls-neg, int64(reached), "exactly the keys the filter let through reach a block")
	require.LessOrEqual(t, reached, len(absent)*5/100, "at least 95%% of absent keys must never reach a data block")
}

// TestCompatWriterMatchesLeveldb writes each fixture's entries with Strata's Writer and the
// fixture's options. leveldb's writer is deterministic without compression, so the
// uncompressed fixtures must come out byte for byte. Snappy output depends on the compressor
// (golang/snappy versus the C++ library), so the snappy ones must hold the same entries, cut
// into the same blocks with the same index keys.
func TestCompatWriterMatchesLeveldb(t *testing.T) {
	for _, s := range tablespec.Specs() {
		t.Run(s.Name, func(t *testing.T) {
			fixture, err := os.ReadFile(filepath.Join(compatGoodDir, s.FileName()))
			require.NoError(t, err)
			want := s.Entries()

			wo := WriterOptions{BlockSize: s.BlockSize, RestartInterval: s.RestartInterval, Compression: NoCompression}
			if s.Compression {
				wo.Compression = SnappyCompression
			}
			if s.BloomBitsPerKey > 0 {
				wo.Filter = NewBloomPolicy(s.BloomBitsPerKey)
			}
			if s.InternalKeys {
				wo.Comparator = keys.NewInternalComparator(keys.Bytewise)
				wo.FilterKey = keys.UserKey
			}
			entries := make([]kv, len(want))
			for i, e := range want {
				entries[i] = kv{e.Key, e.Value}
			}
			got, md := buildTable(t, wo, entries)
			require.Equal(t, uint64(len(want)), md.Entries)
			if len(want) > 0 {
				require.Equal(t, want[0].Key, md.Smallest)
				require.Equal(t, want[len(want)-1].Key, md.Largest)
			}

			if !s.Compression {
				if !bytes.Equal(fixture, got) {
					n := min(len(fixture), len(got))
					at := n
					for i := 0; i < n; i++ {
						if fixture[i] != got[i] {
							at = i
							break
						}
					}
					t.Fatalf("Strata's table differs from leveldb's: %d vs %d bytes, first difference at offset %d",
						len(got), len(fixture), at)
				}
				return
			}

			// Snappy: same blocks and index keys, same metaindex names, same entries.
			ro, _ := compatReaderOptions(s)
			ours := compatOpenBytes(t, "strata-"+s.FileName(), got, ro)
			theirs := compatOpenBytes(t, s.FileName(), fixture, ro)
			lo, lt := ours.Layout(), theirs.Layout()
			require.Equal(t, len(lt.Index), len(lo.Index), "number of data blocks")
			for i := range lt.Index {
				require.Equal(t, lt.Index[i].Separator, lo.Index[i].Separator, "index key %d", i)
			}
			var names []string
			for _, m := range lt.Metaindex {
				names = append(names, m.Name)
			}
			var ourNames []string
			for _, m := range lo.Metaindex {
				ourNames = append(ourNames, m.Name)
			}
			require.Equal(t, names, ourNames)
			compatCheckIteration(t, ours, s, want)
			t.Logf("snappy: Strata %d bytes, leveldb %d bytes, identical: %v", len(got), len(fixture), bytes.Equal(got, fixture))
		})
	}
}

func compatOpenBytes(t *testing.T, name string, data []byte, ro ReaderOptions) *Reader {
	t.Helper()
	f := memFile(t, "/"+name, data)
	t.Cleanup(func() { f.Close() })
	r, err := Open(f, name, int64(len(data)), ro)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// compatRequireCorrupt asserts that err is a corruption error that names path.
func compatRequireCorrupt(t *testing.T, err error, path, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.True(t, errors.Is(err, dberr.ErrCorruption), "%s: want corruption, got %v", what, err)
	var ce *dberr.CorruptionError
	require.True(t, errors.As(err, &ce), "%s: %v", what, err)
	require.Equal(t, path, ce.File, "%s: the error must name the file", what)
	require.Contains(t, err.Error(), path)
}

// TestCompatBrokenFixtures opens every broken fixture on both read paths, with and without
// checksum verification, and uses all of it: Open, a forward and a reverse scan, and a Get of
// every key the base table holds. Each damage must surface as a corruption error naming the
// file, at Open or when the damaged block is used; everything returned before that must be
// exact, and nothing may panic.
func TestCompatBrokenFixtures(t *testing.T) {
	base := tablespec.BrokenBase()
	want := base.Entries()
	cases := map[string]struct {
		atOpen bool   // Open itself must fail
		reason string // a word the error must contain
	}{
		"bad-magic":            {atOpen: true, reason: "magic"},
		"truncated-footer":     {atOpen: true, reason: "magic"},
		"too-short":            {atOpen: true, reason: "short"},
		"flipped-data-byte":    {reason: "checksum"},
		"lying-handle-offset":  {atOpen: true, reason: "handle"},
		"lying-handle-size":    {atOpen: true, reason: "handle"},
		"bad-compression-type": {reason: "compression"},
		"bad-restart-count":    {reason: "restart"},
		"out-of-order-keys":    {reason: "order"},
	}
	fixtures := tablespec.BrokenFixtures()
	require.Len(t, cases, len(fixtures), "every broken fixture needs a case here")
	for _, b := range fixtures {
		tc, ok := cases[b.Name]
		require.True(t, ok, "no case for broken fixture %q", b.Name)
		path := filepath.Join(compatBrokenDir, b.FileName())
		for _, p := range compatPaths {
			for _, verify := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/verify=%v", b.Name, p.name, verify), func(t *testing.T) {
					ro, _ := compatReaderOptions(base)
					r, _, err := p.open(t, path, ro)
					if tc.atOpen {
						require.Nil(t, r)
						compatRequireCorrupt(t, err, path, "Open")
						require.Contains(t, err.Error(), tc.reason)
						return
					}
					require.NoError(t, err, "the damage is in a data block: Open succeeds")
					defer r.Close()
					errs := compatUseBroken(t, r, ReadOptions{VerifyChecksums: verify}, want)
					require.NotEmpty(t, errs, "the damage went unnoticed")
					for _, e := range errs {
						compatRequireCorrupt(t, e, path, "use")
						require.Contains(t, e.Error(), tc.reason)
					}
				})
			}
		}
	}
}

// compatUseBroken scans r both ways and gets every key of want, requiring every entry it
// returns to be exact, and returns the errors met (which must not be ErrNotFound for a
// present key).
func compatUseBroken(t *testing.T, r *Reader, ro ReadOptions, want []tablespec.Entry) []error {
	var errs []error
	it := r.NewIterator(ro)
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		compatRequireAt(t, it, true, want, i, "forward scan of a broken table")
		i++
	}
	if err := it.Error(); err != nil {
		errs = append(errs, err)
	} else {
		require.Equal(t, len(want), i, "the forward scan ended early without an error")
	}
	i = len(want) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		compatRequireAt(t, it, true, want, i, "reverse scan of a broken table")
		i--
	}
	if err := it.Error(); err != nil {
		errs = append(errs, err)
	} else {
		require.Equal(t, -1, i, "the reverse scan ended early without an error")
	}
	if err := it.Close(); err != nil { // Close returns the iterator's last error
		errs = append(errs, err)
	}

	for i, e := range want {
		k, v, err := r.Get(nil, e.Key, ro)
		if err != nil {
			require.NotErrorIs(t, err, dberr.ErrNotFound, "Get %s: a present key reported absent", compatEntry(want, i))
			errs = append(errs, err)
			continue
		}
		require.True(t, bytes.Equal(e.Key, k), "Get %s returned key %q", compatEntry(want, i), k)
		require.True(t, bytes.Equal(e.Value, v), "Get %s: wrong value", compatEntry(want, i))
	}
	return errs
}
