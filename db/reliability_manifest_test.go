package db

// A MANIFEST that lost its last edits (damage cut it at a record boundary, which reads like a
// clean end): the two cases the corruption sweep first found (docs/durability.md, section 6),
// each built on purpose. Open must refuse the DB rather than serve the older Version, and Repair
// must bring back every acknowledged write.

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// knownManifestEdits returns the records of the MANIFEST at path, each with its offset.
func knownManifestEdits(t *testing.T, fs vfs.FS, path string) ([]compaction.VersionEdit, []int64, []byte) {
	data := filetest.Read(t, fs, path)
	r := wal.NewReader(bytes.NewReader(data), path)
	var edits []compaction.VersionEdit
	var offs []int64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		var e compaction.VersionEdit
		require.NoError(t, e.Decode(rec, path, r.Offset()))
		edits = append(edits, e)
		offs = append(offs, r.Offset())
	}
	return edits, offs, data
}

// knownCutManifest replaces the MANIFEST at path with its first off bytes.
func knownCutManifest(t *testing.T, fs *vfs.MemFS, path string, data []byte, off int64) {
	filetest.Write(t, fs, path, data[:off])
	require.NoError(t, fs.SyncDir(filepath.Dir(path)))
}

// TestManifestLostFlushEdit: the MANIFEST loses its last record, the edit of a flush (cut
// there, as damage or a bad disk would). The flush's log is already gone, so the older Version
// lacks the flushed writes: Open, with or without ParanoidChecks, must fail with ErrCorruption
// naming the MANIFEST (it opened, without "a", before checkLogNamedLocked), and not delete the
// flushed table as obsolete; Repair must then bring back both writes.
func TestManifestLostFlushEdit(t *testing.T) {
	mem := vfs.NewMem()
	d := openMem(t, mem, nil)
	require.NoError(t, d.Put([]byte("a"), []byte("flushed"), &WriteOptions{Sync: true}))
	require.NoError(t, d.flushMemTable())
	require.NoError(t, d.Put([]byte("b"), []byte("logged"), &WriteOptions{Sync: true}))
	require.NoError(t, d.Close())
	require.NoError(t, mem.SyncDir("/db"))

	current := filetest.Read(t, mem, "/db/CURRENT")
	path := filepath.Join("/db", string(bytes.TrimSpace(current)))
	edits, offs, data := knownManifestEdits(t, mem, path)
	last := edits[len(edits)-1]
	require.Len(t, last.NewFiles, 1, "the last edit is the flush's: %v", last)
	knownCutManifest(t, mem, path, data, offs[len(offs)-1])

	for _, paranoid := range []bool{true, false} {
		d, err := openMemErr(mem, &Options{ParanoidChecks: paranoid})
		if err == nil {
			d.Close()
		}
		require.ErrorIs(t, err, ErrCorruption, "Open of a MANIFEST without its last edit (paranoid %v)", paranoid)
		require.ErrorContains(t, err, path)
	}
	require.NoError(t, Repair("/db", &Options{FS: mem}))
	d, err := openMemErr(mem, nil)
	require.NoError(t, err)
	defer d.Close()
	require.Equal(t, kv{"a": "flushed", "b": "logged"}, dump(t, d, nil))
}

// TestRepairLostCompactionEdit: a compaction's output gets its number when the compaction
// starts; a flush that finishes meanwhile records a next file number above it. When the
// compaction's edit, the MANIFEST's last record, is lost, the output is named by nothing and
// numbered below the next file number, as a stale table is; but its inputs are gone, so Repair
// must keep it (it set it aside in lost/ before setAsideStale looked at the MANIFEST's first
// next file number instead of its last: the inputs' data was lost, and keys they deleted came
// back). The test builds DBs until one ends in such an edit, cuts it off and repairs.
func TestRepairLostCompactionEdit(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		b := csBuild(t, seed)
		path := filepath.Join(csDir, b.files["MANIFEST"][0])
		edits, offs, data := knownManifestEdits(t, b.fs, path)
		last := edits[len(edits)-1]
		if len(last.DeletedFiles) == 0 || len(last.NewFiles) == 0 {
			continue // not a compaction's edit
		}
		var next uint64
		for _, e := range edits[:len(edits)-1] {
			if e.HasNextFileNum {
				next = e.NextFileNum
			}
		}
		below := false
		for _, nf := range last.NewFiles {
			below = below || nf.Meta.Num < next
		}
		if !below {
			continue
		}
		t.Logf("seed %d: the last edit is a compaction's with an output below the next file number %d: %v", seed, next, last)
		damaged := b.fs.CrashClone()
		knownCutManifest(t, damaged, path, data, offs[len(offs)-1])
		o := relOpts()
		o.FS = damaged
		require.NoError(t, Repair(csDir, o))
		d, err := openMemErr(damaged, relOpts())
		require.NoError(t, err)
		defer d.Close()
		requireSame(t, b.model, dump(t, d, nil), "after Repair of a MANIFEST that lost its last edit (a compaction's)")
		return
	}
	t.Fatal("no seed among 40 ended its MANIFEST with such an edit: the test no longer tests anything")
}
