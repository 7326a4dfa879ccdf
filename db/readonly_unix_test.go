//go:build unix

package db_test

// Read-only opens across processes. fcntl locks belong to a process, so the other side runs in a
// child process: this test binary again, running TestReadOnlyHolder, which opens the directory
// read-only or for writing and holds it until its stdin closes. The cleveldb interop tests
// (interop_readonly_cleveldb_test.go) start it too.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
)

const (
	roHolderModeEnv = "STRATA_READONLY_HOLDER" // "readonly" or "readwrite"
	roHolderDirEnv  = "STRATA_READONLY_HOLDER_DIR"
	roHolderReady   = "holding the DB: "
)

// TestReadOnlyHolder is not a test: it is the child process of the read-only lock tests. It
// opens the DB read-only or for writing, as the environment says, prints the value of key
// "holder" on stdout, holds the DB until stdin closes, and closes it.
func TestReadOnlyHolder(t *testing.T) {
	mode, dir := os.Getenv(roHolderModeEnv), os.Getenv(roHolderDirEnv)
	if mode == "" {
		t.Skip("the child process of the read-only lock tests")
	}
	d, err := db.Open(dir, &db.Options{ReadOnly: mode == "readonly"})
	require.NoError(t, err)
	v, err := d.Get([]byte("holder"), nil)
	require.NoError(t, err)
	fmt.Println(roHolderReady + string(v))
	_, _ = io.Copy(io.Discard, os.Stdin)
	require.NoError(t, d.Close())
}

// holdInChild starts a child process that opens dir (mode "readonly" or "readwrite") and holds
// it; it returns once the child holds it. release closes the DB in the child and waits for it.
func holdInChild(t *testing.T, mode, dir string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadOnlyHolder$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), roHolderModeEnv+"="+mode, roHolderDirEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer // written by exec's copying goroutine
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := false
	var seen []string
	release = func() {
		if done {
			return
		}
		done = true
		stdin.Close()
		rest, _ := io.ReadAll(stdout)
		require.NoError(t, cmd.Wait(), "holder: %s\n%s%s", strings.Join(seen, "\n"), rest, stderr.String())
	}
	t.Cleanup(release)

	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), roHolderReady) {
				ready <- nil
				return
			}
			seen = append(seen, sc.Text())
		}
		ready <- errors.New("the holder exited before it held the DB")
	}()
	select {
	case err := <-ready:
		require.NoError(t, err, "holder: %s\n%s", strings.Join(seen, "\n"), stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the holder did not open the DB in time; stderr: %s", stderr.String())
	}
	return release
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// writeHolderKey creates a DB in dir holding key "holder" = value, and closes it.
func writeHolderKey(t *testing.T, dir, value string) {
	t.Helper()
	d, err := db.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, d.Put([]byte("holder"), []byte(value), nil))
	require.NoError(t, d.Close())
}

// TestReadOnlyAcrossProcesses: a read-only DB in another process keeps a read-write Open out
// and lets a read-only one in; a read-write DB in another process keeps a read-only Open out.
func TestReadOnlyAcrossProcesses(t *testing.T) {
	if os.Getenv(roHolderModeEnv) != "" {
		t.Skip("in the holder process")
	}
	t.Run("reader holds", func(t *testing.T) {
		dir := t.TempDir()
		writeHolderKey(t, dir, "written")
		release := holdInChild(t, "readonly", dir)

		_, err := db.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrLocked, "a read-write Open while a reader in another process holds the DB")
		require.ErrorContains(t, err, "held by another process")
		r, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.NoError(t, err, "a read-only Open beside a reader in another process")
		v, err := r.Get([]byte("holder"), nil)
		require.NoError(t, err)
		require.Equal(t, "written", string(v))
		require.NoError(t, r.Close())
		_, err = db.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrLocked, "the other process's reader still holds the DB")

		release()
		w, err := db.Open(dir, nil)
		require.NoError(t, err, "a read-write Open once the reader closed")
		require.NoError(t, w.Close())
	})
	t.Run("writer holds", func(t *testing.T) {
		dir := t.TempDir()
		writeHolderKey(t, dir, "written")
		release := holdInChild(t, "readwrite", dir)

		_, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.ErrorIs(t, err, db.ErrLocked, "a read-only Open while a writer in another process holds the DB")
		require.ErrorContains(t, err, "held by another process")

		release()
		r, err := db.Open(dir, &db.Options{ReadOnly: true})
		require.NoError(t, err, "a read-only Open once the writer closed")
		require.NoError(t, r.Close())
	})
}
