package compaction

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stretchr/testify/require"
)

// FuzzVersionEditDecode feeds arbitrary bytes to Decode. It must never panic; an error must be
// a corruption error; and whatever decodes must survive a round trip: encoding it and decoding
// that gives the same edit, and encoding is then stable.
func FuzzVersionEditDecode(f *testing.F) {
	for _, rec := range readRecords(f, fixtureManifest) {
		f.Add(rec)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		f.Add(randomVersionEdit(rng).Encode(nil))
	}
	var e VersionEdit
	e.DeleteFile(1, 2)
	e.DeleteFile(1, 2)
	e.AddFile(6, meta(f, 3, 4, "a#1,SET", "z#2,DEL"))
	f.Add(e.Encode(nil))
	f.Add([]byte{tagPrevLogNumber, 0x80})
	f.Add([]byte{8})

	f.Fuzz(func(t *testing.T, data []byte) {
		var e VersionEdit
		if err := e.Decode(data, "MANIFEST-000001", 0); err != nil {
			require.True(t, errors.Is(err, dberr.ErrCorruption), "%v", err)
			return
		}
		enc := e.Encode(nil)
		var again VersionEdit
		require.NoError(t, again.Decode(enc, "MANIFEST-000001", 0))
		require.Equal(t, e, again)
		require.Equal(t, enc, again.Encode(nil))
		_ = e.String()
	})
}
