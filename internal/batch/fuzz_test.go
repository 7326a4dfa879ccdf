package batch

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/wal"
)

// FuzzDecode feeds arbitrary bytes to the Reader. It must never panic; whatever it rejects must
// be a corruption error; whatever it accepts must re-encode to the same bytes (one batch, one
// encoding), and Validate and Apply must agree with the Reader. The corpus is seeded with
// every batch of the leveldb 1.23 log fixture and some hand-built ones.
func FuzzDecode(f *testing.F) {
	if log, err := os.Open(filepath.Join(fixtureDir, "000003.log")); err == nil {
		r := wal.NewReader(log, "000003.log")
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) || err != nil {
				break
			}
			if len(rec) < 4096 { // the large records add nothing the small ones lack
				f.Add(bytes.Clone(rec))
			}
		}
		log.Close()
	}
	f.Add([]byte(build(7, []op{{keys.KindSet, "a", "b"}, {keys.KindDelete, "c", ""}})))
	f.Add([]byte(build(keys.MaxSeqNum, []op{{keys.KindSet, "", ""}})))
	f.Add(header(1, 2))
	f.Add(cat(header(1, 1), []byte{1, 0x81, 0x00}))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(data, "fuzz", 0)
		var ops []op
		if err == nil {
			for kind, key, value, ok := r.Next(); ok; kind, key, value, ok = r.Next() {
				ops = append(ops, op{kind, string(key), string(value)})
			}
			err = r.Err()
		}
		verr := Validate(data, "fuzz", 0)
		n := 0
		aerr := Apply(data, "fuzz", 0, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
			if seq != Repr(data).Seq()+keys.SeqNum(n) || seq > keys.MaxSeqNum {
				t.Fatalf("entry %d at sequence %d", n, seq)
			}
			n++
			return nil
		})
		if err != nil {
			if !errors.Is(err, dberr.ErrCorruption) || !errors.Is(verr, dberr.ErrCorruption) || !errors.Is(aerr, dberr.ErrCorruption) {
				t.Fatalf("reader %v, Validate %v, Apply %v", err, verr, aerr)
			}
			if n != 0 {
				t.Fatalf("Apply called fn %d times on a bad batch", n)
			}
			return
		}
		if verr != nil || aerr != nil || n != len(ops) {
			t.Fatalf("reader accepted; Validate %v, Apply %v after %d of %d entries", verr, aerr, n, len(ops))
		}
		again := build(Repr(data).Seq(), ops)
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoded\n%x\nwant\n%x", []byte(again), data)
		}
	})
}
