package db

// TestCorruptionSweep (issue 8, item 4) damages the files of a real DB, one damage at a time,
// and checks what every way of reading it gives. The DB (built on vfs.MemFS from the
// reliability workload) holds tables at several levels (a CompactRange, then a flush), a log of
// writes not yet flushed (each write one record) and a MANIFEST of many edits; it is closed with
// everything synced. For each file kind (log, table, MANIFEST, CURRENT) the sweep flips single
// bytes, zeroes ranges (some starting exactly at a record) and truncates, at many offsets
// (every byte of CURRENT; headers, footers, record boundaries, evenly spread and random ones
// elsewhere). Then, each from its own copy of the damaged directory:
//
//   - ParanoidChecks, reads with VerifyChecksums: Open fails with an error wrapping
//     ErrCorruption, or every Get and a scan of every key give exactly the right answer or an
//     error wrapping ErrCorruption. The one exception is the log, where damage that looks like
//     the end of an interrupted append (a torn tail) ends the log: the DB then holds the writes
//     before the damage, and may drop only writes whose records the damage touches.
//   - Without paranoid checks: tables, MANIFEST and CURRENT as above; a damaged log always
//     opens, without the records in the damaged region (the rest of a damaged block, a record
//     cut in two) and with every other record, and the LOG says what it dropped.
//   - Repair, then Open: every key that could be read right before the repair reads the same
//     after it; every other key holds a value it once had, or is absent; with an intact log and
//     tables (MANIFEST or CURRENT damaged), everything comes back.
//
// No damage may cause a panic, a hang (each case has a deadline), or a wrong value. -long sweeps
// every table and more offsets.

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// csBase is the intact DB the sweep damages.
type csBase struct {
	fs       *vfs.MemFS
	model    kv // what it holds
	flushed  kv // what its tables hold: the state before the log's writes
	logOps   []workload.Op
	logName  string
	recStart []int64 // the offset of each log record; record i is logOps[i]
	logSize  int64
	manRecs  []int64 // the offset of each MANIFEST record
	history  map[string]map[string]bool
	keys     []string // every key ever written, sorted
	files    map[string][]string
}

const csDir = "/db"

func csBuild(t *testing.T, seed uint64) *csBase {
	mem := vfs.NewMem()
	d := openMem(t, mem, relOpts())
	g := relGen(seed, "c")
	var all []workload.Op
	write := func(ops []workload.Op) {
		for _, op := range ops {
			require.NoError(t, applyOp(d, op))
		}
		all = append(all, ops...)
	}
	write(g.Take(250))
	require.NoError(t, d.CompactRange(nil, nil))
	write(g.Take(60))
	require.NoError(t, d.flushMemTable())
	flushed := workload.Replay(nil, all)
	// The log's writes: small, and few enough bytes (about 40 KiB) that the 64 KiB memtable
	// does not rotate: all of them are in one log, one record each.
	g.Shape.MaxValue, g.Shape.MaxBatch = 300, 12
	var logOps []workload.Op
	for size := 0; size < 40<<10 && len(logOps) < 90; {
		op := g.Next()
		for _, e := range op.Entries {
			size += len(e.Key) + len(e.Value) + 8
		}
		logOps = append(logOps, op)
	}
	logOps = append(logOps, workload.Op{Kind: workload.Sync, Sync: true}) // an empty synced write: a record too
	write(logOps)
	require.NoError(t, d.Close())
	// Close removed obsolete files; make that durable too, so that every copy made with
	// CrashClone is exactly the directory the DB left (and not one where they came back).
	require.NoError(t, mem.SyncDir(csDir))

	b := &csBase{fs: mem, model: workload.Replay(nil, all), flushed: flushed, logOps: logOps,
		history: map[string]map[string]bool{}, files: map[string][]string{}}
	for _, op := range all {
		for _, e := range op.Entries {
			if b.history[e.Key] == nil {
				b.history[e.Key] = map[string]bool{}
				b.keys = append(b.keys, e.Key)
			}
			if !e.Delete {
				b.history[e.Key][e.Value] = true
			}
		}
	}
	sort.Strings(b.keys)
	names, err := mem.List(csDir)
	require.NoError(t, err)
	for _, n := range names {
		kind, _, ok := filenames.Parse(n)
		if !ok {
			continue
		}
		switch kind {
		case filenames.Log:
			b.files["log"] = append(b.files["log"], n)
		case filenames.Table:
			b.files["table"] = append(b.files["table"], n)
		case filenames.Manifest:
			b.files["MANIFEST"] = append(b.files["MANIFEST"], n)
		case filenames.Current:
			b.files["CURRENT"] = append(b.files["CURRENT"], n)
		}
	}
	require.Len(t, b.files["log"], 1, "the log's writes rotated the log: %v", names)
	require.Len(t, b.files["MANIFEST"], 1)
	// At least a table the CompactRange wrote (deep) and the flush's (level 0).
	require.GreaterOrEqual(t, len(b.files["table"]), 2)
	b.logName = b.files["log"][0]
	var recs int
	b.recStart, recs, b.logSize = csRecords(t, mem, b.logName)
	require.Equal(t, len(logOps), recs, "records in the log")
	b.manRecs, _, _ = csRecords(t, mem, b.files["MANIFEST"][0])
	return b
}

// csRecords returns the offsets of the records of the log-format file name, their number and
// the file's size.
func csRecords(t *testing.T, fs vfs.FS, name string) ([]int64, int, int64) {
	data := filetest.Read(t, fs, filepath.Join(csDir, name))
	r := wal.NewReader(bytes.NewReader(data), name)
	var offs []int64
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, name)
		offs = append(offs, r.Offset())
	}
	return offs, len(offs), int64(len(data))
}

// csMut is one damage: flip the byte at off, zero n bytes from off, or truncate at off.
type csMut struct {
	kind, file, op string
	off, n         int64
}

func (m csMut) String() string {
	switch m.op {
	case "flip":
		return fmt.Sprintf("%s %s: flip byte %d", m.kind, m.file, m.off)
	case "zero":
		return fmt.Sprintf("%s %s: zero %d bytes at %d", m.kind, m.file, m.n, m.off)
	}
	return fmt.Sprintf("%s %s: truncate at %d", m.kind, m.file, m.off)
}

// damaged returns the byte range the damage touches in a file of size, [a, b).
func (m csMut) damaged(size int64) (int64, int64) {
	switch m.op {
	case "flip":
		return m.off, m.off + 1
	case "zero":
		return m.off, min(m.off+m.n, size)
	}
	return m.off, size
}

func (m csMut) apply(b []byte) []byte {
	b = bytes.Clone(b)
	switch m.op {
	case "flip":
		b[m.off] ^= 1 << (m.off % 8)
	case "zero":
		clear(b[m.off:min(m.off+m.n, int64(len(b)))])
	case "truncate":
		b = b[:m.off]
	}
	return b
}

// csMutations returns the damages to try on one file of kind.
func csMutations(b *csBase, kind, file string, size int64, rng interface{ Int64N(int64) int64 }, long bool) []csMut {
	seen := map[csMut]bool{}
	var out []csMut
	add := func(op string, off, n int64) {
		if off < 0 || off >= size || (op == "truncate" && off >= size) {
			return
		}
		m := csMut{kind: kind, file: file, op: op, off: off, n: n}
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	if kind == "CURRENT" {
		for off := int64(0); off < size; off++ {
			add("flip", off, 0)
			add("zero", off, 1)
			add("truncate", off, 0)
		}
		return out
	}
	spread, random := int64(12), 6
	if long {
		spread, random = 60, 30
	}
	var recs []int64
	switch kind {
	case "log":
		recs = b.recStart
	case "MANIFEST":
		recs = b.manRecs
	}
	// Record boundaries: the header's checksum, length and type, and the payload.
	for i, r := range recs {
		if !long && i%max(1, len(recs)/6) != 0 && i != len(recs)-1 {
			continue
		}
		for _, d := range []int64{0, 4, 6, 7, 12} {
			add("flip", r+d, 0)
		}
		add("zero", r, 7)
		add("zero", r, 300)
		add("truncate", r, 0)
		add("truncate", r+3, 0)
		add("truncate", r+10, 0)
	}
	for _, off := range []int64{0, 1, 6, 7, size / 2, size - 1} {
		add("flip", off, 0)
	}
	if kind == "table" {
		// The footer (48 bytes: handles, padding, magic) and the trailers before it.
		for _, back := range []int64{48, 45, 40, 30, 20, 9, 8, 5, 1} {
			add("flip", size-back, 0)
		}
		add("zero", size-48, 48)
		add("truncate", size-48, 0)
		add("truncate", size-1, 0)
	}
	for i := int64(0); i < spread; i++ {
		add("flip", i*size/spread+size/(2*spread), 0)
	}
	for range random {
		add("flip", rng.Int64N(size), 0)
		add("zero", rng.Int64N(size), []int64{7, 64, 1000, 5000}[rng.Int64N(4)])
		add("truncate", rng.Int64N(size), 0)
	}
	add("zero", 0, 32<<10)
	add("truncate", 0, 0)
	add("truncate", size/2, 0)
	return out
}

// csStats counts outcomes of the sweep.
type csStats struct {
	cases                         int
	byKind                        map[string]int
	paranoidRefused, plainRefused int
	corruptReads, rightReads      int
	tailLost                      int // paranoid log recoveries that ended at a torn tail
	recordsDropped, logReported   int // non-paranoid log recoveries that dropped records, and said so
	repaired, repairExact         int
	keysAfterRepair, keysExact    int
}

// csDeadline fails the test binary, with every goroutine's stack, if a case takes longer than
// this: a hang.
const csDeadline = 60 * time.Second

func TestCorruptionSweep(t *testing.T) {
	t.Parallel() // long; it shares nothing with the other tests
	seed := testSeed(t)
	long := longMode()
	b := csBuild(t, seed)
	rng := newRand(seed ^ 0xc0)
	st := &csStats{byKind: map[string]int{}}

	tables := slices.Clone(b.files["table"])
	if !long {
		// The oldest table (deep, from the CompactRange) and the newest (level 0, the flush).
		tables = []string{tables[0], tables[len(tables)-1]}
	}
	targets := []struct{ kind, file string }{
		{"CURRENT", b.files["CURRENT"][0]},
		{"MANIFEST", b.files["MANIFEST"][0]},
		{"log", b.logName},
	}
	for _, tb := range tables {
		targets = append(targets, struct{ kind, file string }{"table", tb})
	}
	for _, tg := range targets {
		data := filetest.Read(t, b.fs, filepath.Join(csDir, tg.file))
		for _, m := range csMutations(b, tg.kind, tg.file, int64(len(data)), rng, long) {
			t.Run(strings.ReplaceAll(m.String(), " ", "_"), func(t *testing.T) { csCase(t, b, m, data, st) })
		}
	}
	t.Logf("%d damages (%v); ParanoidChecks: Open refused %d (ErrCorruption), %d reads right, %d reads "+
		"ErrCorruption, %d logs ended at a torn tail; without: Open refused %d, %d logs lost records "+
		"in the damaged region (%d of them reported in the LOG: all but cuts, or zeroing to the end, at a record boundary); Repair: %d repaired, %d with everything, "+
		"%d of %d keys read exactly right after it; no panic, no hang, no wrong value",
		st.cases, st.byKind, st.paranoidRefused, st.rightReads, st.corruptReads, st.tailLost, st.plainRefused,
		st.recordsDropped, st.logReported, st.repaired, st.repairExact, st.keysExact, st.keysAfterRepair)
}

// csCase runs the three checks of one damage; see the file comment.
func csCase(t *testing.T, b *csBase, m csMut, orig []byte, st *csStats) {
	t.Helper()
	what := m.String()
	timer := time.AfterFunc(csDeadline, func() {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "TestCorruptionSweep: %s: no answer after %v, a hang:\n%s\n", what, csDeadline, buf[:runtime.Stack(buf, true)])
		os.Exit(2)
	})
	defer timer.Stop()
	st.cases++
	st.byKind[m.kind]++

	damaged := b.fs.CrashClone()
	path := filepath.Join(csDir, m.file)
	filetest.Write(t, damaged, path, m.apply(orig))
	require.NoError(t, damaged.SyncDir(csDir))
	a, z := m.damaged(int64(len(orig)))

	// 1. Paranoid.
	couldRead := map[string]bool{}
	paranoid := relOpts()
	paranoid.ParanoidChecks = true
	d, err := openMemErr(damaged.CrashClone(), paranoid)
	if err != nil {
		require.ErrorIs(t, err, ErrCorruption, "%s: paranoid Open", what)
		st.paranoidRefused++
	} else {
		want := b.model
		if m.kind == "log" {
			got := dump(t, d, &ReadOptions{VerifyChecksums: true})
			lo := 0 // records wholly before the damage
			for i := range b.logOps {
				if csRecEnd(b, i) <= a {
					lo = i + 1
				}
			}
			p := workload.MatchPrefix(b.flushed, b.logOps, got, lo, len(b.logOps))
			if p < 0 {
				requireSame(t, workload.Replay(b.flushed, b.logOps[:lo]), got,
					"%s: with ParanoidChecks the DB opened, but it does not hold the log's writes up to the damage (%d records)", what, lo)
			}
			// The log may end early only at a record the damage touches: one whose header now
			// claims more bytes than the file holds looks exactly like an append cut short (a
			// torn tail), and the records after it are lost with it.
			if p < len(b.logOps) {
				require.True(t, b.recStart[p] < z && csRecEnd(b, p) > a,
					"%s: with ParanoidChecks the log ended quietly after %d of %d records, but record %d at %d is beyond the damage [%d, %d)",
					what, p, len(b.logOps), p, b.recStart[p], a, z)
			}
			if p < len(b.logOps) {
				st.tailLost++
			}
			want = got
		}
		csCheckReads(t, csReads(t, d, b, want, true, couldRead, st, what+", paranoid"))
		if err := d.Close(); err != nil {
			require.ErrorIs(t, err, ErrCorruption, "%s: paranoid Close", what)
		}
	}

	// 2. Without paranoid checks.
	fs2 := damaged.CrashClone()
	d, err = openMemErr(fs2, relOpts())
	if err != nil {
		require.NotEqual(t, "log", m.kind, "%s: without paranoid checks a damaged log must not stop Open: %v", what, err)
		require.ErrorIs(t, err, ErrCorruption, "%s: Open", what)
		st.plainRefused++
	} else {
		want := b.model
		if m.kind == "log" {
			got := dump(t, d, nil)
			dropped := csMatchWindow(t, b, got, a, z, what)
			want = got
			if dropped {
				st.recordsDropped++
			}
			// Which keys hold their final value despite the drop: those could be read.
			plain := map[string]bool{}
			require.NoError(t, csReads(t, d, b, want, false, plain, st, what))
			clear(couldRead)
			for k := range plain {
				if v, ok := got[k]; ok == csHas(b.model, k) && v == b.model[k] {
					couldRead[k] = true
				}
			}
			require.NoError(t, d.Close())
			// A cut at a record boundary is a clean end of the log, nothing to report, and so is
			// zeroing from a record boundary to the end of the file (it reads as space allocated
			// but never written); any other loss is reported.
			cleanEnd := slices.Contains(b.recStart, m.off) &&
				(m.op == "truncate" || m.op == "zero" && m.off+m.n >= b.logSize)
			if dropped && !cleanEnd {
				logText := infoLogs(fs2)
				mentioned := strings.Contains(logText, "dropped") || strings.Contains(logText, "skipping") ||
					strings.Contains(logText, "torn")
				require.True(t, mentioned, "%s: records were dropped, but the LOG does not say so:\n%s", what, logText)
				st.logReported++
			}
		} else {
			plain := map[string]bool{}
			csCheckReads(t, csReads(t, d, b, want, false, plain, st, what))
			if len(couldRead) == 0 {
				couldRead = plain
			}
			if err := d.Close(); err != nil {
				require.ErrorIs(t, err, ErrCorruption, "%s: Close", what)
			}
		}
	}
	if m.kind == "MANIFEST" || m.kind == "CURRENT" {
		for _, k := range b.keys { // tables and log intact: everything is there to be read
			couldRead[k] = true
		}
	}

	// 3. Repair.
	fs3 := damaged.CrashClone()
	o := relOpts()
	o.FS = fs3
	require.NoError(t, Repair(csDir, o), "%s: Repair", what)
	st.repaired++
	d, err = openMemErr(fs3, relOpts())
	require.NoError(t, err, "%s: Open after Repair", what)
	exact := true
	for _, k := range b.keys {
		v, err := d.Get([]byte(k), &ReadOptions{VerifyChecksums: true})
		if err != nil && !isNotFound(err) {
			require.NoError(t, err, "%s: Get(%s) after Repair", what, short(k))
		}
		right := (err == nil) == csHas(b.model, k) && (err != nil || string(v) == b.model[k])
		st.keysAfterRepair++
		if right {
			st.keysExact++
		} else {
			exact = false
		}
		if couldRead[k] && !right {
			wrong := fmt.Errorf("%s: after Repair, Get(%s) = %s, %v; before it, the key read right (%s)",
				what, short(k), short(string(v)), err, short(b.model[k]))
			t.Fatalf("%v\nThe LOG of Repair, then of Open:\n%s", wrong, infoLogs(fs3))
		}
		if err == nil && !couldRead[k] {
			require.True(t, b.history[k][string(v)], "%s: after Repair, Get(%s) = %s, a value the key never had",
				what, short(k), short(string(v)))
		}
	}
	if exact {
		st.repairExact++
	}
	require.NoError(t, d.Close(), what)
}

// csCheckReads fails the test on a wrong read.
func csCheckReads(t *testing.T, wrong error) {
	t.Helper()
	if wrong != nil {
		t.Fatal(wrong)
	}
}

func csHas(m kv, k string) bool { _, ok := m[k]; return ok }

// csRecEnd returns where log record i ends: where the next one starts, or the end of the file.
func csRecEnd(b *csBase, i int) int64 {
	if i+1 < len(b.recStart) {
		return b.recStart[i+1]
	}
	return b.logSize
}

// csReads reads every key of b with Get and scans d both ways: each answer must be want's, or
// an error wrapping ErrCorruption (any other error fails the test). It adds the keys read right
// to right, and returns a description of the first wrong answer, or nil.
func csReads(t *testing.T, d *DB, b *csBase, want kv, verify bool, right map[string]bool, st *csStats, what string) error {
	t.Helper()
	ro := &ReadOptions{VerifyChecksums: verify}
	var wrong error
	bad := func(format string, args ...any) {
		if wrong == nil {
			wrong = fmt.Errorf("%s: "+format, append([]any{what}, args...)...)
		}
	}
	for _, k := range b.keys {
		v, err := d.Get([]byte(k), ro)
		switch {
		case err == nil:
			if w, ok := want[k]; !ok {
				bad("Get(%s) found %s, but the key is deleted", short(k), short(string(v)))
			} else if w != string(v) {
				bad("Get(%s) = %s, a wrong value (want %s)", short(k), short(string(v)), short(w))
			} else {
				right[k] = true
				st.rightReads++
			}
		case isNotFound(err):
			if csHas(want, k) {
				bad("Get(%s) did not find the key (want %s)", short(k), short(want[k]))
			} else {
				right[k] = true
				st.rightReads++
			}
		default:
			require.ErrorIs(t, err, ErrCorruption, "%s: Get(%s)", what, short(k))
			st.corruptReads++
		}
	}
	keys := slices.Sorted(maps.Keys(want))
	for _, reverse := range []bool{false, true} {
		it := d.NewIterator(ro)
		n := 0
		ok := it.First()
		if reverse {
			ok = it.Last()
		}
		for ; ok && wrong == nil; n++ {
			if n >= len(keys) {
				bad("scan: more entries than keys, %s among them", short(string(it.Key())))
				break
			}
			w := keys[n]
			if reverse {
				w = keys[len(keys)-1-n]
			}
			if w != string(it.Key()) {
				bad("scan (reverse %v) entry %d is %s, want %s", reverse, n, short(string(it.Key())), short(w))
			} else if want[w] != string(it.Value()) {
				bad("scan of %s: a wrong value", short(w))
			}
			if reverse {
				ok = it.Prev()
			} else {
				ok = it.Next()
			}
		}
		if err := it.Error(); err != nil {
			require.ErrorIs(t, err, ErrCorruption, "%s: scan", what)
		} else if wrong == nil && n != len(keys) {
			bad("scan (reverse %v) ended early, after %d of %d keys, without an error", reverse, n, len(keys))
		}
		if err := it.Close(); err != nil {
			require.ErrorIs(t, err, ErrCorruption, "%s: scan", what)
		}
	}
	return wrong
}

// csMatchWindow requires got to be the DB's tables plus every log record but a run [x, y) of
// records in the damaged region: the blocks the damage [a, z) touches (a record that starts
// there may lose fragments in the next block, and a record that ends there its first ones). It
// reports whether any record was dropped.
func csMatchWindow(t *testing.T, b *csBase, got kv, a, z int64, what string) bool {
	t.Helper()
	if maps.Equal(b.model, got) {
		return false
	}
	const block = 32 << 10
	lo, hi := a/block*block, (z+block-1)/block*block
	inRegion := func(i int) bool { return b.recStart[i] < hi && csRecEnd(b, i) > lo }
	fail := func() {
		requireSame(t, b.model, got, "%s: without paranoid checks, the DB is not its tables plus the log's records outside the damaged blocks [%d, %d)", what, lo, hi)
	}
	// Only keys the log writes can differ from the tables; compare the rest once.
	touched := workload.Touched(b.logOps)
	restrict := func(m kv) kv {
		r := kv{}
		for k := range touched {
			if v, ok := m[k]; ok {
				r[k] = v
			}
		}
		return r
	}
	for k, v := range got {
		if !touched[k] && (!csHas(b.flushed, k) || b.flushed[k] != v) {
			fail()
		}
	}
	for k := range b.flushed {
		if !touched[k] && !csHas(got, k) {
			fail()
		}
	}
	gotT := restrict(got)
	prefix := restrict(b.flushed) // the tables plus the first x records
	n := len(b.logOps)
	for x := 0; x < n; x++ {
		if inRegion(x) {
			for y := x + 1; y <= n && inRegion(y-1); y++ {
				m := maps.Clone(prefix)
				for _, op := range b.logOps[y:] {
					m.Apply(op)
				}
				if maps.Equal(m, gotT) {
					return true
				}
			}
		}
		prefix.Apply(b.logOps[x])
	}
	fail()
	return false
}
