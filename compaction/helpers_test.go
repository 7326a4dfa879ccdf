package compaction

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stretchr/testify/require"
)

const testDir = "/db"

var testICmp = keys.NewInternalComparator(keys.Bytewise)

// ikey builds an internal key from its debug form, such as "a#5,SET".
func ikey(t testing.TB, s string) []byte {
	t.Helper()
	pk, err := keys.ParseDebug(s)
	require.NoError(t, err, s)
	return pk.Encode(nil)
}

// meta builds a FileMetadata from debug-form keys.
func meta(t testing.TB, num, size uint64, smallest, largest string) *FileMetadata {
	return &FileMetadata{Num: num, Size: size, Smallest: ikey(t, smallest), Largest: ikey(t, largest)}
}

// newMemDB returns a MemFS holding an empty, durable directory testDir.
func newMemDB(t testing.TB) *vfs.MemFS {
	t.Helper()
	fs := vfs.NewMem()
	require.NoError(t, fs.MkdirAll(testDir, 0o755))
	require.NoError(t, fs.SyncDir("/"))
	return fs
}

// newTestVersionSet creates a new DB's VersionSet in testDir of a fresh in-memory filesystem.
func newTestVersionSet(t testing.TB) (*vfs.MemFS, *VersionSet) {
	t.Helper()
	fs := newMemDB(t)
	vs, err := Create(fs, testDir, testICmp, nil)
	require.NoError(t, err)
	return fs, vs
}

// newVersionSetWithFile is newTestVersionSet after one logged edit that adds a table a#1..c#1
// at level; it returns the mutex to apply further edits with.
func newVersionSetWithFile(t testing.TB, level int) (*vfs.MemFS, *VersionSet, *sync.Mutex) {
	t.Helper()
	fs, vs := newTestVersionSet(t)
	mu := new(sync.Mutex)
	var e VersionEdit
	e.AddFile(level, meta(t, vs.NewFileNumber(), 10, "a#1,SET", "c#1,SET"))
	require.NoError(t, apply(vs, mu, &e))
	return fs, vs, mu
}

// reopen closes vs and recovers a VersionSet from what it left on fs.
func reopen(t testing.TB, fs vfs.FS, vs *VersionSet) *VersionSet {
	t.Helper()
	require.NoError(t, vs.Close())
	got, err := Recover(fs, testDir, testICmp, nil)
	require.NoError(t, err)
	return got
}

// apply runs LogAndApply the way the DB does, with its mutex held.
func apply(vs *VersionSet, mu *sync.Mutex, e *VersionEdit) error {
	mu.Lock()
	defer mu.Unlock()
	return vs.LogAndApply(e, mu)
}

// stateOf prints everything a VersionSet recovers: the tree with sizes, the log numbers, the
// last sequence and the compact pointers. The next file number is left out: recovery reserves
// one for the next MANIFEST, so it legitimately moves.
func stateOf(vs *VersionSet) string {
	return stateString(vs.current, vs.logNum, vs.prevLogNum, vs.lastSeq, vs.compactPointers)
}

func stateString(v *Version, logNum, prevLogNum uint64, lastSeq keys.SeqNum, cps [NumLevels][]byte) string {
	var b strings.Builder
	for level, files := range v.Levels {
		for _, f := range files {
			fmt.Fprintf(&b, "L%d %s %d\n", level, f, f.Size)
		}
	}
	fmt.Fprintf(&b, "log %d prev %d last-seq %d\n", logNum, prevLogNum, lastSeq)
	for level, k := range cps {
		if k != nil {
			fmt.Fprintf(&b, "pointer L%d %s\n", level, keys.FormatInternalKey(k))
		}
	}
	return b.String()
}

// stateAfter is the state vs would have if the (filled-in) edit had been installed.
func stateAfter(t testing.TB, vs *VersionSet, e *VersionEdit) string {
	t.Helper()
	b := newBuilder(vs.icmp, &vs.opts, vs.current)
	require.NoError(t, b.apply(e))
	v, err := b.build()
	require.NoError(t, err)
	cps := vs.compactPointers
	for _, cp := range e.CompactPointers {
		cps[cp.Level] = cp.Key
	}
	return stateString(v, e.LogNum, e.PrevLogNum, e.LastSeq, cps)
}

// randomUserKey returns one of 26*26 two-letter keys.
func randomUserKey(rng *rand.Rand) []byte {
	return []byte{byte('a' + rng.IntN(26)), byte('a' + rng.IntN(26))}
}

// randomEdit returns an edit the DB could make on vs's current Version: a flush placed where
// PickLevelForMemTableOutput says, a move of a file one level down when nothing there overlaps
// it, a deletion, a new log number or a compact pointer; it may advance the last sequence.
// Requires the DB's mutex (it takes file numbers).
func randomEdit(rng *rand.Rand, vs *VersionSet) *VersionEdit {
	var e VersionEdit
	v := vs.current
	var all []NewFile
	for level, files := range v.Levels {
		for _, f := range files {
			all = append(all, NewFile{Level: level, Meta: f})
		}
	}
	switch op := rng.IntN(10); {
	case op < 5 || len(all) == 0:
		a, b := randomUserKey(rng), randomUserKey(rng)
		if string(a) > string(b) {
			a, b = b, a
		}
		seq := vs.lastSeq + 1
		vs.SetLastSequence(seq + 10)
		f := &FileMetadata{
			Num:  vs.NewFileNumber(),
			Size: uint64(1 + rng.IntN(5<<20)),
			// For a == b the newer entry comes first, as in a real table.
			Smallest: keys.AppendInternalKey(nil, a, seq+10, keys.KindSet),
			Largest:  keys.AppendInternalKey(nil, b, seq, keys.KindDelete),
		}
		e.AddFile(v.PickLevelForMemTableOutput(a, b, vs.opts.MaxGrandparentOverlapBytes()), f)
	case op < 7:
		nf := all[rng.IntN(len(all))]
		f := nf.Meta
		if nf.Level < NumLevels-1 && !v.OverlapInLevel(nf.Level+1, f.SmallestUser(), f.LargestUser()) {
			e.DeleteFile(nf.Level, f.Num)
			e.AddFile(nf.Level+1, f)
		} else {
			e.DeleteFile(nf.Level, f.Num)
		}
	case op < 8:
		nf := all[rng.IntN(len(all))]
		e.DeleteFile(nf.Level, nf.Meta.Num)
	case op < 9:
		e.SetLogNum(vs.NewFileNumber())
	default:
		e.AddCompactPointer(rng.IntN(NumLevels), keys.AppendInternalKey(nil, randomUserKey(rng), vs.lastSeq, keys.KindSet))
	}
	return &e
}
