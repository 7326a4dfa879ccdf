package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
)

// TestManifestKeysOutOfOrder checks that manifest reports a table whose smallest key sorts
// after its largest, as recovery refuses it, when the MANIFEST's keys are bytewise, and leaves
// it alone under a comparator sstdump does not know.
func TestManifestKeysOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		comparator string
		problem    string // on stderr, "" for none
	}{
		{keys.BytewiseName, "offset 0: edit adds file 000008:[z#9,SET-q#10,SET] whose smallest key sorts after its largest"},
		{"idb_cmp1", ""},
	} {
		t.Run(c.comparator, func(t *testing.T) {
			var e compaction.VersionEdit
			e.SetComparator(c.comparator)
			e.SetLogNum(3)
			e.SetNextFileNum(10)
			e.SetLastSeq(12)
			e.AddFile(2, fileMeta(8, "z", "q", 9))
			path := filepath.Join(dir, "MANIFEST-"+c.comparator)
			writeManifest(t, path, &e)
			r := runCmd("manifest", path)
			if c.problem == "" {
				if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "000008:[z#9,SET-q#10,SET]") {
					t.Fatalf("exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
				}
				return
			}
			if r.code != 1 || !strings.Contains(r.stderr, path+": "+c.problem) || !strings.Contains(r.stdout, "000008") {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
			}
			if strings.Contains(r.stdout, "L2: 1 file") {
				t.Errorf("the refused table is in the state:\n%s", r.stdout)
			}
		})
	}
}
