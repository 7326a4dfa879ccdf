//go:build unix

package vfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lockChildEnv, when set, makes TestOSLockAcrossProcesses act as the child: it tries to Lock the
// path in the variable and prints what happened.
const lockChildEnv = "STRATA_VFS_LOCK_CHILD"

const lockChildPrefix = "lock-child-result: "

// TestOSLockAcrossProcesses re-executes the test binary as a child process that tries to Lock a
// file the parent holds. Only the fcntl lock can stop it: the in-process table is not shared.
func TestOSLockAcrossProcesses(t *testing.T) {
	if path := os.Getenv(lockChildEnv); path != "" {
		l, err := NewOS().Lock(path)
		switch {
		case err == nil:
			fmt.Println(lockChildPrefix + "acquired")
			if err := l.Close(); err != nil {
				fmt.Println(lockChildPrefix+"unlock failed:", err)
			}
		case errors.Is(err, ErrLocked):
			fmt.Println(lockChildPrefix+"locked:", err)
		default:
			fmt.Println(lockChildPrefix+"error:", err)
		}
		return
	}

	path := filepath.Join(t.TempDir(), "LOCK")
	child := func() string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestOSLockAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child output:\n%s", out)
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, lockChildPrefix); ok {
				return rest
			}
		}
		t.Fatalf("child printed no result:\n%s", out)
		return ""
	}

	l, err := NewOS().Lock(path)
	require.NoError(t, err)
	got := child()
	require.Equal(t, "locked: lock "+path+": held by another process", got, "child while parent holds the lock")

	require.NoError(t, l.Close())
	require.Equal(t, "acquired", child(), "child after the parent released the lock")

	// The parent can lock again after the child has come and gone.
	l, err = NewOS().Lock(path)
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

// TestOSLockSharedAcrossFSValues checks that the in-process table belongs to the process, not to
// one FS value: fcntl alone would let the second Lock through.
func TestOSLockSharedAcrossFSValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	l, err := NewOS().Lock(path)
	require.NoError(t, err)
	_, err = NewOS().Lock(path)
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())
}

func TestOSMapNegativeSize(t *testing.T) {
	fs := NewOS()
	name := filepath.Join(t.TempDir(), "f")
	writeFile(t, fs, name, "abc")
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.(Mappable).Map(-1)
	require.Error(t, err)
}
