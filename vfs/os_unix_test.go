//go:build unix

package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/childproc"
)

// The lock tests below re-execute the test binary as a child process (TestOSLockChild, through
// childproc) that takes a lock on a path and prints what happened: only the fcntl lock can stop
// it, since the in-process table is not shared between processes.
const (
	lockChildEnv     = "STRATA_VFS_LOCK_CHILD"      // the path the child locks
	lockChildModeEnv = "STRATA_VFS_LOCK_CHILD_MODE" // "exclusive" (Lock) or "shared" (LockShared)
	lockChildHoldEnv = "STRATA_VFS_LOCK_CHILD_HOLD" // set: hold the lock until the parent releases it
	lockChildPrefix  = "lock-child-result: "
)

// TestOSLockChild is the child process of the lock tests; run directly, it skips.
func TestOSLockChild(t *testing.T) {
	path := os.Getenv(lockChildEnv)
	if path == "" {
		t.Skip("the child process of the cross-process lock tests")
	}
	lock := NewOS().Lock
	if os.Getenv(lockChildModeEnv) == "shared" {
		lock = NewOS().LockShared
	}
	l, err := lock(path)
	switch {
	case err == nil:
		if os.Getenv(lockChildHoldEnv) != "" {
			childproc.Serve("acquired")
		} else {
			fmt.Println(lockChildPrefix + "acquired")
		}
		if err := l.Close(); err != nil {
			fmt.Println(lockChildPrefix+"unlock failed:", err)
		}
	case errors.Is(err, ErrLocked):
		fmt.Println(lockChildPrefix+"locked:", err)
	default:
		fmt.Println(lockChildPrefix+"error:", err)
	}
}

// lockChild runs a child that takes the lock on path in mode, releases it and exits; it returns
// what the child printed.
func lockChild(t *testing.T, path, mode string) string {
	t.Helper()
	out, err := childproc.Command("TestOSLockChild", lockChildEnv+"="+path, lockChildModeEnv+"="+mode).CombinedOutput()
	require.NoError(t, err, "child output:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, lockChildPrefix); ok {
			return rest
		}
	}
	t.Fatalf("child printed no result:\n%s", out)
	return ""
}

// holdLockChild starts a child that takes the lock on path in mode and holds it; it returns once
// the child holds it, and the returned function makes the child release it and exit.
func holdLockChild(t *testing.T, path, mode string) (release func()) {
	t.Helper()
	ready, release := childproc.Hold(t, "TestOSLockChild",
		lockChildEnv+"="+path, lockChildModeEnv+"="+mode, lockChildHoldEnv+"=1")
	require.Equal(t, "acquired", ready, "the holding child")
	return release
}

func TestOSLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	held := "locked: lock " + path + ": held by another process"

	l, err := NewOS().Lock(path)
	require.NoError(t, err)
	require.Equal(t, held, lockChild(t, path, "exclusive"), "child Lock while parent holds Lock")
	require.Equal(t, held, lockChild(t, path, "shared"), "child LockShared while parent holds Lock")

	require.NoError(t, l.Close())
	require.Equal(t, "acquired", lockChild(t, path, "exclusive"), "child after the parent released the lock")

	// The parent can lock again after the child has come and gone.
	l, err = NewOS().Lock(path)
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

// TestOSLockSharedAcrossProcesses: read locks are shared between processes and exclude a write
// lock in another process, both ways.
func TestOSLockSharedAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	held := "locked: lock " + path + ": held by another process"

	s, err := NewOS().LockShared(path)
	require.NoError(t, err)
	require.Equal(t, "acquired", lockChild(t, path, "shared"), "child LockShared while parent holds LockShared")
	require.Equal(t, held, lockChild(t, path, "exclusive"), "child Lock while parent holds LockShared")
	require.NoError(t, s.Close())
	require.Equal(t, "acquired", lockChild(t, path, "exclusive"), "child Lock after the parent released")

	release := holdLockChild(t, path, "shared")
	_, err = NewOS().Lock(path)
	require.ErrorIs(t, err, ErrLocked, "parent Lock while a child holds LockShared")
	require.EqualError(t, err, "lock "+path+": held by another process")
	s, err = NewOS().LockShared(path)
	require.NoError(t, err, "parent LockShared while a child holds LockShared")
	require.NoError(t, s.Close())
	_, err = NewOS().Lock(path)
	require.ErrorIs(t, err, ErrLocked, "the child's share outlives the parent's")
	release()
	l, err := NewOS().Lock(path)
	require.NoError(t, err, "parent Lock once the child released")
	require.NoError(t, l.Close())
}

// TestOSLockSharedOneDescriptor: with POSIX record locks, closing any descriptor of a file drops
// all of the process's locks on it. So when one of two shared holders in this process closes,
// the other's lock must still keep a writer in another process out: the holders share one
// descriptor, closed with the last.
func TestOSLockSharedOneDescriptor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	held := "locked: lock " + path + ": held by another process"
	a, err := NewOS().LockShared(path)
	require.NoError(t, err)
	b, err := NewOS().LockShared(path)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	require.NoError(t, a.Close())
	require.Equal(t, held, lockChild(t, path, "exclusive"), "after one of two shared holders closed")
	require.NoError(t, b.Close())
	require.Equal(t, "acquired", lockChild(t, path, "exclusive"), "after both closed")
}

// TestOSLockSharedReadOnlyFile: a shared lock opens the file read-only, so it works on a LOCK
// the process may not write (as in a directory of a DB owned by another user).
func TestOSLockSharedReadOnlyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "LOCK")
	require.NoError(t, os.WriteFile(path, nil, 0o444))
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { os.Chmod(dir, 0o755) })

	s, err := NewOS().LockShared(path)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(path, 0o644)) // so that the child can open it to try its write lock
	require.Equal(t, "locked: lock "+path+": held by another process", lockChild(t, path, "exclusive"))
	require.NoError(t, os.Chmod(path, 0o444))
	require.NoError(t, s.Close())
	if os.Geteuid() == 0 {
		return // root opens the file for writing, and creates files in the directory, anyway
	}
	_, err = NewOS().Lock(path)
	require.ErrorIs(t, err, fs.ErrPermission, "Lock needs to open the file for writing")

	missing := filepath.Join(dir, "MISSING")
	_, err = NewOS().LockShared(missing)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorIs(t, err, fs.ErrPermission)
	require.ErrorContains(t, err, missing)
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist, "nothing was created")
}

// TestOSLockSharedAcrossFSValues checks that the in-process table belongs to the process, not to
// one FS value: fcntl alone would let the second Lock through (and would convert a read lock of
// this process into a write lock).
func TestOSLockSharedAcrossFSValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	l, err := NewOS().Lock(path)
	require.NoError(t, err)
	_, err = NewOS().Lock(path)
	require.ErrorIs(t, err, ErrLocked)
	_, err = NewOS().LockShared(path)
	require.ErrorIs(t, err, ErrLocked)
	require.EqualError(t, err, "lock "+path+": held by another DB in this process")
	require.NoError(t, l.Close())

	s, err := NewOS().LockShared(path)
	require.NoError(t, err)
	_, err = NewOS().Lock(path)
	require.ErrorIs(t, err, ErrLocked)
	require.EqualError(t, err, "lock "+path+": held shared by 1 reader(s) in this process")
	require.Equal(t, "acquired", lockChild(t, path, "shared"), "the failed Lock did not convert the read lock")
	require.NoError(t, s.Close())
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
