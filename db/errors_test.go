package db

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/testcmp"
)

// TestErrorMessages: the errors a program meets first read "strata: " once, then what happened
// to which file, with no internal package's prefix; and they match their sentinels.
func TestErrorMessages(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "db")
	d, err := Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, d.Put([]byte("k"), []byte("v"), nil))
	_, lockErr := Open(dir, nil)
	require.NoError(t, d.Close())
	_, cmpErr := Open(dir, &Options{Comparator: testcmp.Reverse{}})
	file := filepath.Join(tmp, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	_, fileErr := Open(file, nil)
	_, emptyErr := Open("", nil)
	destroyEmptyErr := Destroy("")
	missing := filepath.Join(tmp, "missing")
	_, missingErr := Open(missing, &Options{ErrorIfMissing: true})
	_, existsErr := Open(dir, &Options{ErrorIfExists: true})

	for _, tc := range []struct {
		name    string
		err     error
		want    string // the message, with $TMP for the temporary directory
		targets []error
	}{
		{"empty path", emptyErr, "strata: invalid argument: open: the directory path is empty",
			[]error{ErrInvalidArgument}},
		{"Destroy of an empty path", destroyEmptyErr, "strata: invalid argument: destroy: the directory path is empty",
			[]error{ErrInvalidArgument}},
		{"ErrorIfMissing", missingErr, "strata: open $TMP/missing: no DB there (ErrorIfMissing is set): $TMP/missing/CURRENT does not exist",
			[]error{ErrInvalidArgument, fs.ErrNotExist, os.ErrNotExist}},
		{"ErrorIfExists", existsErr, "strata: invalid argument: open $TMP/db: a DB exists there (ErrorIfExists)",
			[]error{ErrInvalidArgument}},
		{"locked", lockErr, "strata: open $TMP/db: lock $TMP/db/LOCK: held by another DB in this process",
			[]error{ErrLocked}},
		{"another comparator", cmpErr, `strata: invalid argument: $TMP/db/MANIFEST-000002 was written with comparator "leveldb.BytewiseComparator", but the database is opened with comparator "test.Reverse"`,
			[]error{ErrInvalidArgument}},
		{"a file, not a directory", fileErr, "strata: invalid argument: open $TMP/file: not a directory",
			[]error{ErrInvalidArgument}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			require.Equal(t, tc.want, strings.ReplaceAll(tc.err.Error(), tmp, "$TMP"))
			for _, target := range tc.targets {
				require.ErrorIs(t, tc.err, target)
			}
			require.NotErrorIs(t, tc.err, ErrCorruption)
		})
	}
	require.False(t, errors.Is(missingErr, ErrLocked))
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, fs.ErrNotExist, "ErrorIfMissing created nothing")
}
