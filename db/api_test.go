package db

// TestAPI runs the API's cases written as text, in testdata/api (internal/testutil/datadriven):
// each file is a sequence of calls on DBs on in-memory filesystems, and what each call returns.
// go test ./db -run TestAPI -rewrite rewrites the expected outputs; review the diff.
//
// Commands (a key or value is a word, or a Go-quoted string such as "" or "\x00"; "-" is nil;
// db=NAME picks one of several DBs, "main" by default, and fs=NAME its filesystem):
//
//	reset                              close every DB, forget every filesystem
//	open [db=] [fs=] [buffer=N] [paranoid] [error-if-exists] [error-if-missing] [reverse]
//	close [db=]
//	put K V [db=] [sync]               delete K [db=] [sync]
//	batch NAME                         adds the input's "put K V" and "delete K" lines to a batch
//	write NAME|nil [db=] [sync]        writes a batch ("nil": a nil *Batch; a new name: empty)
//	reset-batch NAME                   len NAME
//	fill N [prefix=k] [size=100] [db=] N puts of prefix%05d
//	get K [db=] [snapshot=] [verify]   has K... [db=] [snapshot=] [verify] [dont-fill-cache]
//	                                   (the keys found; Has must agree with Get)
//	count [db=] [snapshot=]            the keys a full scan finds
//	snapshot NAME [db=]                release NAME|nil
//	iter NAME [db=] [snapshot=] [lower=] [upper=]   makes an iterator (once per name), then
//	                                   runs the input's lines: first, last, next, prev, seek K,
//	                                   seek-lt K, all [N] (stop after N), state, error, close
//	compact [START LIMIT] [db=]        flush [db=]
//	property NAME [db=]                sizes START LIMIT ... [db=]
//	ls [fs=]                           the files of /db and their sizes (but the info logs)
//	remove NAME [fs=]                  write-file NAME [fs=] (the input is the content)
//	cat NAME [fs=]                     mkdir [fs=] (makes /db)
//	save-dir / same-dir [fs=]          the files of /db and their bytes, then whether they changed
//	save-fs NAME / restore-fs NAME [fs=]  a copy of a filesystem (its /db synced first) that
//	                                   survives reset, and a copy of that made the current one
//
// NAME of a file is a name in /db, a pattern matching the first such name (MANIFEST-*), or /db.
//
// A failed call prints "error:" and the sentinels its error matches; with names=A,B it also
// says whether the message names A and B (so a case pins what failed and what the message is
// about, not its wording).

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/datadriven"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/testcmp"
	"github.com/stratadb/strata/vfs"
)

func TestAPI(t *testing.T) {
	datadriven.Walk(t, "testdata/api", func(t *testing.T, path string) {
		a := &apiState{t: t}
		defer a.reset()
		datadriven.RunTest(t, path, a.run)
	})
}

// apiState is what the calls of one file work on.
type apiState struct {
	t       *testing.T
	fss     map[string]*vfs.MemFS
	dbs     map[string]*DB
	snaps   map[string]*Snapshot
	iters   map[string]*Iterator
	batches map[string]*Batch
	saved   map[string]string
	kept    map[string]*vfs.MemFS // save-fs, across resets
}

func (a *apiState) reset() {
	for _, it := range a.iters {
		_ = it.Close()
	}
	for _, s := range a.snaps {
		s.Release()
	}
	for _, d := range a.dbs {
		_ = d.Close()
	}
	kept := a.kept
	if kept == nil {
		kept = map[string]*vfs.MemFS{}
	}
	*a = apiState{t: a.t, fss: map[string]*vfs.MemFS{}, dbs: map[string]*DB{}, snaps: map[string]*Snapshot{},
		iters: map[string]*Iterator{}, batches: map[string]*Batch{}, kept: kept}
}

// apiErr describes err: "ok", or "error:" with the sentinels it matches and whether its message
// names each of names.
func apiErr(err error, names string) string {
	if err == nil {
		return "ok"
	}
	out := "error:"
	for _, s := range []struct {
		name string
		err  error
	}{{"not found", ErrNotFound}, {"closed", ErrClosed}, {"corruption", ErrCorruption},
		{"invalid argument", ErrInvalidArgument}, {"locked", ErrLocked}, {"does not exist", fs.ErrNotExist}} {
		if errors.Is(err, s.err) {
			out += " " + s.name + ";"
		}
	}
	for _, n := range strings.Split(names, ",") {
		if n == "" {
			continue
		}
		if strings.Contains(err.Error(), n) {
			out += " names " + n + ";"
		} else {
			out += " does not name " + n + ";"
		}
	}
	return strings.TrimSuffix(out, ";")
}

// word decodes a key or value argument: a Go-quoted string, "-" for nil, or the word itself.
func word(t *testing.T, td *datadriven.TestData, s string) []byte {
	if s == "-" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			td.Fatalf(t, "%q: %v", s, err)
		}
		return []byte(u)
	}
	return []byte(s)
}

// show prints a key or value: as it is when it is a plain word, quoted otherwise, and as its
// length when long.
func show(b []byte) string {
	switch {
	case len(b) > 64:
		return fmt.Sprintf("<%d bytes>", len(b))
	case len(b) > 0 && !strings.ContainsFunc(string(b), func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '=' }):
		return string(b)
	}
	return strconv.Quote(string(b))
}

// positional returns the arguments without a value (key=value arguments are options).
func positional(td *datadriven.TestData) []string {
	var out []string
	for _, a := range td.CmdArgs {
		if a.Val == "" {
			out = append(out, a.Key)
		}
	}
	return out
}

func (a *apiState) run(t *testing.T, td *datadriven.TestData) string {
	if a.fss == nil {
		a.reset()
	}
	arg := func(key, def string) string {
		if v, ok := td.Arg(key); ok && v != "" {
			return v
		}
		return def
	}
	fsName := arg("fs", "main")
	mem := a.fss[fsName]
	if mem == nil {
		mem = vfs.NewMem()
		a.fss[fsName] = mem
	}
	name := arg("db", "main")
	d := a.dbs[name]
	pos := positional(td)
	ro := &ReadOptions{Snapshot: a.snaps[arg("snapshot", "")], VerifyChecksums: td.HasArg("verify"),
		DontFillCache: td.HasArg("dont-fill-cache")}
	wo := &WriteOptions{Sync: td.HasArg("sync")}
	names, _ := td.Arg("names")
	errText := func(err error) string { return apiErr(err, names) }
	switch td.Cmd {
	case "reset":
		a.reset()
		return "ok"
	case "open":
		o := &Options{ParanoidChecks: td.HasArg("paranoid"), ErrorIfExists: td.HasArg("error-if-exists"),
			ErrorIfMissing: td.HasArg("error-if-missing")}
		if b, ok := td.Arg("buffer"); ok {
			o.WriteBufferSize, _ = strconv.Atoi(b)
		}
		if td.HasArg("reverse") {
			o.Comparator = testcmp.Reverse{}
		}
		d, err := openMemErr(mem, o)
		if err == nil {
			a.dbs[name] = d
		}
		return errText(err)
	case "close":
		return errText(d.Close())
	case "put":
		return errText(d.Put(word(t, td, pos[0]), word(t, td, pos[1]), wo))
	case "delete":
		return errText(d.Delete(word(t, td, pos[0]), wo))
	case "batch":
		b := a.batches[pos[0]]
		if b == nil {
			b = &Batch{}
			a.batches[pos[0]] = b
		}
		for _, line := range strings.Split(td.Input, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "put":
				b.Put(word(t, td, f[1]), word(t, td, f[2]))
			case len(f) == 2 && f[0] == "delete":
				b.Delete(word(t, td, f[1]))
			default:
				td.Fatalf(t, "bad batch line %q", line)
			}
		}
		return fmt.Sprintf("%d entries", b.Len())
	case "reset-batch":
		a.batches[pos[0]].Reset()
		return "ok"
	case "len":
		return strconv.Itoa(a.batches[pos[0]].Len())
	case "write":
		if pos[0] == "nil" {
			return errText(d.Write(nil, wo))
		}
		b := a.batches[pos[0]]
		if b == nil {
			b = &Batch{}
		}
		return errText(d.Write(b, wo))
	case "fill":
		n, _ := strconv.Atoi(pos[0])
		size, _ := strconv.Atoi(arg("size", "100"))
		prefix := arg("prefix", "k")
		for i := range n {
			if err := d.Put(fmt.Appendf(nil, "%s%05d", prefix, i), make([]byte, size), nil); err != nil {
				return errText(err)
			}
		}
		return "ok"
	case "get":
		v, err := d.Get(word(t, td, pos[0]), ro)
		if err != nil {
			return errText(err)
		}
		return show(v)
	case "has":
		var found []string
		for _, k := range pos {
			if td.HasArg(k) && (k == "verify" || k == "dont-fill-cache") {
				continue
			}
			has, err := d.Has(word(t, td, k), ro)
			_, gerr := d.Get(word(t, td, k), ro)
			if err != nil {
				require.False(t, has, "%s: Has(%s) failed but reports the key", td.Pos, k)
				require.Equal(t, errText(err), errText(gerr), "%s: Has and Get fail alike", td.Pos)
				return errText(err)
			}
			require.Equal(t, gerr == nil, has, "%s: Has and Get disagree on %s", td.Pos, k)
			if has {
				found = append(found, k)
			}
		}
		return strings.Join(found, " ")
	case "count":
		it := d.NewIterator(ro)
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		if err := it.Close(); err != nil {
			return errText(err)
		}
		return strconv.Itoa(n)
	case "snapshot":
		a.snaps[pos[0]] = d.NewSnapshot()
		return "ok"
	case "release":
		if pos[0] == "nil" {
			(*Snapshot)(nil).Release()
		} else {
			a.snaps[pos[0]].Release()
		}
		return "ok"
	case "iter":
		return a.iterate(t, td, d, pos[0], ro)
	case "compact":
		var start, limit []byte
		if len(pos) == 2 {
			start, limit = word(t, td, pos[0]), word(t, td, pos[1])
		}
		return errText(d.CompactRange(start, limit))
	case "flush":
		return errText(d.flushMemTable())
	case "property":
		v, ok := d.Property(pos[0])
		if !ok {
			return "unknown"
		}
		return v
	case "sizes":
		var ranges []Range
		for i := 0; i+1 < len(pos); i += 2 {
			ranges = append(ranges, Range{Start: word(t, td, pos[i]), Limit: word(t, td, pos[i+1])})
		}
		s, err := d.ApproximateSizes(ranges)
		if err != nil {
			return errText(err)
		}
		return fmt.Sprint(s)
	case "ls":
		names, err := mem.List("/db")
		if err != nil {
			return errText(err)
		}
		slices.Sort(names)
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, "LOG") {
				continue
			}
			st, err := mem.Stat(path.Join("/db", n))
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("%s %d", n, st.Size()))
		}
		return strings.Join(out, "\n")
	case "remove":
		return errText(mem.Remove(a.file(t, td, mem, pos[0])))
	case "write-file":
		filetest.Write(t, mem, a.file(t, td, mem, pos[0]), []byte(td.Input))
		return "ok"
	case "cat":
		b, err := filetest.ReadErr(mem, a.file(t, td, mem, pos[0]))
		if err != nil {
			return errText(err)
		}
		return string(b)
	case "mkdir":
		return errText(mem.MkdirAll("/db", 0o755))
	case "save-fs":
		_ = mem.SyncDir("/db")
		a.kept[pos[0]] = mem.CrashCloneTorn(func(n int) int { return n })
		return "ok"
	case "restore-fs":
		a.fss[fsName] = a.kept[pos[0]].CrashCloneTorn(func(n int) int { return n })
		return "ok"
	case "save-dir":
		a.saved = dirState(t, mem, "/db")
		return "ok"
	case "same-dir":
		now := dirState(t, mem, "/db")
		if maps.Equal(a.saved, now) {
			return "unchanged"
		}
		return fmt.Sprintf("changed: %v -> %v", slices.Sorted(maps.Keys(a.saved)), slices.Sorted(maps.Keys(now)))
	}
	td.Fatalf(t, "unknown command")
	return ""
}

// file resolves a name of /db: a name, or a pattern (MANIFEST-*, *.ldb) that matches the first
// such file.
func (a *apiState) file(t *testing.T, td *datadriven.TestData, mem *vfs.MemFS, pattern string) string {
	if pattern == "/db" {
		return pattern
	}
	names, _ := mem.List("/db")
	slices.Sort(names)
	for _, n := range names {
		if ok, _ := path.Match(pattern, n); ok {
			return path.Join("/db", n)
		}
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return path.Join("/db", pattern)
	}
	td.Fatalf(t, "no file matches %q in %v", pattern, names)
	return ""
}

// iterate makes the iterator name (the first time) and runs the input's calls on it.
func (a *apiState) iterate(t *testing.T, td *datadriven.TestData, d *DB, name string, ro *ReadOptions) string {
	it := a.iters[name]
	if it == nil {
		if v, ok := td.Arg("lower"); ok {
			ro.LowerBound = word(t, td, v)
		}
		if v, ok := td.Arg("upper"); ok {
			ro.UpperBound = word(t, td, v)
		}
		it = d.NewIterator(ro)
		a.iters[name] = it
	}
	at := func(ok bool) string {
		if !ok {
			if err := it.Error(); err != nil {
				return ". " + apiErr(err, "")
			}
			return "."
		}
		return show(it.Key()) + "=" + show(it.Value())
	}
	var out []string
	for _, line := range strings.Split(td.Input, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var res string
		switch f[0] {
		case "first":
			res = at(it.First())
		case "last":
			res = at(it.Last())
		case "next":
			res = at(it.Next())
		case "prev":
			res = at(it.Prev())
		case "seek":
			res = at(it.Seek(word(t, td, f[1])))
		case "seek-lt":
			res = at(it.SeekLT(word(t, td, f[1])))
		case "all":
			stop := -1
			if len(f) > 1 {
				stop, _ = strconv.Atoi(f[1])
			}
			var keys []string
			for k, v := range it.All() {
				keys = append(keys, show(k)+"="+show(v))
				if len(keys) == stop {
					break
				}
			}
			res = strings.Join(keys, " ")
			if err := it.Error(); err != nil {
				res += " " + apiErr(err, "")
			}
		case "state":
			orNil := func(b []byte) string {
				if b == nil {
					return "nil"
				}
				return show(b)
			}
			res = fmt.Sprintf("valid=%v key=%s value=%s", it.Valid(), orNil(it.Key()), orNil(it.Value()))
		case "error":
			res = apiErr(it.Error(), "")
		case "close":
			res = apiErr(it.Close(), "")
		default:
			td.Fatalf(t, "unknown iterator call %q", line)
		}
		out = append(out, line+": "+res)
	}
	return strings.Join(out, "\n")
}

// TestBadInput gives the API the bad input that TestAPI's datadriven cases (testdata/api: the
// empty key, calls after Close, misused snapshots and batches, the LOCK, Open's existence
// checks, damaged and mismatched directories) do not express well: huge values and keys, nil
// options on the real filesystem, out-of-range options, the lock between processes, calls
// racing Close.
func TestBadInput(t *testing.T) {
	t.Run("HugeValue", func(t *testing.T) {
		fs := vfs.NewMem()
		d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
		big := randValue(newRand(1), 16<<20)
		require.NoError(t, d.Put([]byte("big"), big, nil))
		require.NoError(t, d.Put([]byte("small"), []byte("s"), nil))
		check := func(d *DB, what string) {
			v, err := d.Get([]byte("big"), nil)
			require.NoError(t, err, what)
			require.True(t, bytes.Equal(big, v), what)
			it := d.NewIterator(nil)
			require.True(t, it.First(), what)
			require.True(t, bytes.Equal(big, it.Value()), what)
			require.NoError(t, it.Close())
		}
		check(d, "in the memtable")
		require.NoError(t, d.Close())
		d = openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
		check(d, "replayed")
		require.NoError(t, d.CompactRange(nil, nil))
		check(d, "compacted")
		require.NoError(t, d.Close())
	})

	t.Run("LargeKey", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), nil)
		k := bytes.Repeat([]byte("K"), 1<<20)
		require.NoError(t, d.Put(k, []byte("v"), nil))
		require.NoError(t, d.CompactRange(nil, nil))
		v, err := d.Get(k, nil)
		require.NoError(t, err)
		require.Equal(t, "v", string(v))
		require.NoError(t, d.Close())
	})

	t.Run("NilOptions", func(t *testing.T) {
		dir := t.TempDir() // nil Options means the OS filesystem
		d, err := Open(filepath.Join(dir, "db"), nil)
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		require.NoError(t, d.Delete([]byte("b"), nil))
		var b Batch
		b.Put([]byte("c"), []byte("3"))
		require.NoError(t, d.Write(&b, nil))
		require.NoError(t, d.Write(nil, nil), "a nil batch writes nothing")
		require.NoError(t, d.Write(&Batch{}, nil))
		require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
		v, err := d.Get([]byte("a"), nil)
		require.NoError(t, err)
		require.Equal(t, "1", string(v))
		it := d.NewIterator(nil)
		require.True(t, it.Last())
		require.Equal(t, "c", string(it.Key()))
		require.NoError(t, it.Close())
		require.NoError(t, d.Close())
	})

	t.Run("OutOfRangeOptions", func(t *testing.T) {
		o := &Options{WriteBufferSize: -1, BlockCacheSize: -1, BlockSize: -1, BloomBitsPerKey: -7,
			MaxOpenFiles: -1, MaxFileSize: -1, BlockRestartInterval: -1, Compression: Compression(99)}
		d := openMem(t, vfs.NewMem(), o)
		for i := range 2000 {
			require.NoError(t, d.Put([]byte{byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'x'}, 100), nil))
		}
		require.NoError(t, d.CompactRange(nil, nil))
		require.Len(t, dump(t, d, nil), 2000)
		require.NoError(t, d.Close())
	})

	t.Run("LockedOS", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "db")
		d, err := Open(dir, &Options{})
		require.NoError(t, err)
		_, err = Open(dir, nil)
		require.ErrorIs(t, err, ErrLocked)
		require.ErrorIs(t, Destroy(dir), ErrLocked, "Destroy of an open DB")
		require.NoError(t, d.Close())
		d, err = Open(dir, nil)
		require.NoError(t, err)
		require.NoError(t, d.Close())
		require.NoError(t, Destroy(dir))
		_, err = os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist, "Destroy leaves nothing")
	})

	t.Run("CompactRangeRacingClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		for i := range 5000 {
			require.NoError(t, d.Put([]byte{byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'v'}, 200), nil))
		}
		done := make(chan error, 1)
		go func() { done <- d.CompactRange(nil, nil) }()
		time.Sleep(time.Millisecond)
		require.NoError(t, d.Close())
		if err := <-done; err != nil {
			require.ErrorIs(t, err, ErrClosed, "CompactRange cut short by Close")
		}
	})

	t.Run("ConcurrentClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), nil)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		errs := make(chan error, 4)
		for range 4 {
			go func() { errs <- d.Close() }()
		}
		ok := 0
		for range 4 {
			if err := <-errs; err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, ErrClosed)
			}
		}
		require.Equal(t, 1, ok, "exactly one Close succeeds")
	})

	t.Run("WritesRacingClose", func(t *testing.T) {
		d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					err := d.Put([]byte{byte(g), byte(i >> 8), byte(i)}, bytes.Repeat([]byte{'v'}, 200), &WriteOptions{Sync: i%7 == 0})
					if err != nil {
						if !errors.Is(err, ErrClosed) {
							t.Errorf("Put racing Close: %v", err)
						}
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it := d.NewIterator(nil)
				for ok := it.First(); ok; ok = it.Next() {
				}
				err := it.Close()
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("iterator racing Close: %v", err)
					}
					return
				}
			}
		}()
		for numFiles(t, d, 0)+numFiles(t, d, 1)+numFiles(t, d, 2) == 0 {
			time.Sleep(time.Millisecond) // until a flush has happened under the writers
		}
		require.NoError(t, d.Close())
		wg.Wait()
	})
}
