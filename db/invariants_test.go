//go:build invariants

package db

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
)

// TestInvariantChecksOn checks that a DB built with -tags invariants turns on the compaction
// package's sequence-number checks, and that reading a table back finds a table whose metadata
// does not match its contents.
func TestInvariantChecksOn(t *testing.T) {
	require.True(t, compaction.CheckSequenceInvariants)

	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	for i := 0; i < 3000; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("k%05d", i)), make([]byte, 100), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	v := currentVersion(d)
	defer v.Unref()
	var f *compaction.FileMetadata
	for _, files := range v.Levels {
		if len(files) > 0 {
			f = files[0]
			break
		}
	}
	require.NotNil(t, f)
	last := keys.SeqNum(d.lastSeq.Load())
	require.NoError(t, d.checkTable(f, last))

	wrong := func(edit func(m *compaction.FileMetadata)) *compaction.FileMetadata {
		m := &compaction.FileMetadata{Num: f.Num, Size: f.Size, Smallest: f.Smallest, Largest: f.Largest}
		edit(m)
		return m
	}
	require.ErrorContains(t, d.checkTable(wrong(func(m *compaction.FileMetadata) {
		m.Largest = keys.AppendInternalKey(nil, []byte("zzz"), 1, keys.KindSet)
	}), last), "not the recorded largest key")
	require.ErrorContains(t, d.checkTable(wrong(func(m *compaction.FileMetadata) {
		m.Smallest = keys.AppendInternalKey(nil, []byte("a"), 1, keys.KindSet)
	}), last), "not the recorded smallest key")
	require.ErrorContains(t, d.checkTable(wrong(func(m *compaction.FileMetadata) { m.Size++ }), last), "recorded")
	require.ErrorContains(t, d.checkTable(f, 1), "above the last sequence 1")
}
