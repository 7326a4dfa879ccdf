//go:build cleveldb

package db_test

// A writer killed in the middle of its work leaves a directory the other implementation opens:
// Strata's log, written through a shared mapping with a zero-filled reservation after its
// records (and huge pages once a full log took no synced write), opens in C++ leveldb 1.23 with
// paranoid checks and every acknowledged write; a log C++ leveldb left the same way opens in
// Strata with ParanoidChecks. The writer runs in a child process (this test binary,
// re-executed) that prints each write's number once the write returned; the parent kills it
// with SIGKILL at a random moment.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/cleveldb"
)

const (
	interopKillEnv    = "STRATA_INTEROP_KILL_WRITER" // the child: "strata" or "cleveldb"
	interopKillDirEnv = "STRATA_INTEROP_KILL_DIR"
	interopKillSeed   = "STRATA_INTEROP_KILL_SEED"
)

// interopKillOp is write i of the killed writer's sequence: a put of one key, or (every fifth) a
// batch of three, with values of 0 B to 9 KiB and now and then 40 KiB (a record over several
// log blocks); every fiftieth write is synced.
func interopKillOp(seed uint64, i int) (keys, values [][]byte, sync bool) {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	n := 1
	if i%5 == 4 {
		n = 3
	}
	for j := 0; j < n; j++ {
		size := rng.IntN(9 << 10)
		if rng.IntN(40) == 0 {
			size = 40 << 10
		}
		v := make([]byte, size)
		for k := range v {
			v[k] = byte(rng.Uint32())
		}
		keys = append(keys, fmt.Appendf(nil, "w%07d-%d", i, j))
		values = append(values, v)
	}
	return keys, values, i%50 == 49
}

// TestInteropKilledWriterChild is the child: it writes the sequence to the DB until killed.
func TestInteropKilledWriterChild(t *testing.T) {
	impl, dir := os.Getenv(interopKillEnv), os.Getenv(interopKillDirEnv)
	if impl == "" {
		t.Skip("the child process of TestInteropKilledWriter")
	}
	seed, err := strconv.ParseUint(os.Getenv(interopKillSeed), 10, 64)
	require.NoError(t, err)
	var write func(keys, values [][]byte, sync bool) error
	switch impl {
	case "strata":
		d, err := db.Open(dir, &db.Options{BloomBitsPerKey: 10})
		require.NoError(t, err)
		write = func(keys, values [][]byte, sync bool) error {
			var b db.Batch
			for j := range keys {
				b.Put(keys[j], values[j])
			}
			return d.Write(&b, &db.WriteOptions{Sync: sync})
		}
	case "cleveldb":
		d, err := cleveldb.Open(dir, cleveldb.Options{CreateIfMissing: true, Compression: true, BloomBitsPerKey: 10})
		require.NoError(t, err)
		write = func(keys, values [][]byte, sync bool) error {
			var b cleveldb.Batch
			for j := range keys {
				b.Put(keys[j], values[j])
			}
			return d.Write(&b, sync)
		}
	}
	out := bufio.NewWriterSize(os.Stdout, 64)
	for i := 0; ; i++ {
		keys, values, sync := interopKillOp(seed, i)
		require.NoError(t, write(keys, values, sync))
		fmt.Fprintf(out, "%d\n", i)
		require.NoError(t, out.Flush()) // one write(2): the parent sees the ack once Write returned
	}
}

// TestInteropKilledWriter kills a Strata writer and opens its directory in C++ leveldb, and
// kills a C++ writer and opens its directory in Strata, three times each.
func TestInteropKilledWriter(t *testing.T) {
	if os.Getenv(interopKillEnv) != "" {
		t.Skip("in the child process")
	}
	seed := interopSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, c := range []struct{ writer, reader string }{{"strata", "cleveldb"}, {"cleveldb", "strata"}} {
		for round := 0; round < 3; round++ {
			t.Run(fmt.Sprintf("%s killed, %s opens, %d", c.writer, c.reader, round), func(t *testing.T) {
				dir := t.TempDir()
				// Between 300 and 6,300 writes: up to about 30 MiB, several log switches.
				acked := interopKillChild(t, c.writer, dir, seed+uint64(round), 300+rng.IntN(6000))
				get := interopKillReader(t, c.reader, dir)
				present := interopKillCheck(t, get, seed+uint64(round), acked)
				t.Logf("%d writes acknowledged before the kill; %d found by %s", acked, present, c.reader)
			})
		}
	}
}

// interopKillChild runs the writer in a child process on dir, kills it with SIGKILL once it has
// acknowledged target writes (or at once if it dies first), and returns how many it
// acknowledged.
func interopKillChild(t *testing.T, impl, dir string, seed uint64, target int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInteropKilledWriterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), interopKillEnv+"="+impl, interopKillDirEnv+"="+dir,
		interopKillSeed+"="+strconv.FormatUint(seed, 10))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	acked := 0
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(2 * time.Minute)
	for acked < target && sc.Scan() && time.Now().Before(deadline) {
		if n, err := strconv.Atoi(sc.Text()); err == nil && n == acked {
			acked++
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	for sc.Scan() { // acknowledgements already in the pipe count too
		if n, err := strconv.Atoi(sc.Text()); err == nil && n == acked {
			acked++
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "stderr: %s", stderr.String())
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal(), "the child should die by the kill; stderr: %s", stderr.String())
	require.Positive(t, acked, "stderr: %s", stderr.String())
	return acked
}

// interopKillReader opens dir with impl, paranoid, and returns its Get; the DB is closed when
// the test ends.
func interopKillReader(t *testing.T, impl, dir string) func(key []byte) ([]byte, bool) {
	t.Helper()
	switch impl {
	case "strata":
		d, err := db.Open(dir, &db.Options{ParanoidChecks: true, BloomBitsPerKey: 10})
		require.NoError(t, err, "Strata opens what the killed C++ writer left")
		t.Cleanup(func() { require.NoError(t, d.Close()) })
		return func(key []byte) ([]byte, bool) {
			v, err := d.Get(key, &db.ReadOptions{VerifyChecksums: true})
			if err == db.ErrNotFound {
				return nil, false
			}
			require.NoError(t, err)
			return v, true
		}
	default:
		d, err := cleveldb.Open(dir, cleveldb.Options{ParanoidChecks: true, BloomBitsPerKey: 10, VerifyChecksums: true})
		require.NoError(t, err, "C++ leveldb opens what the killed Strata writer left")
		t.Cleanup(func() { require.NoError(t, d.Close()) })
		return func(key []byte) ([]byte, bool) {
			v, found, err := d.Get(key)
			require.NoError(t, err)
			return v, found
		}
	}
}

// interopKillCheck requires every acknowledged write, whole, and then a prefix of the rest (at
// most the one in flight, whole or not at all); it returns how many writes were found.
func interopKillCheck(t *testing.T, get func([]byte) ([]byte, bool), seed uint64, acked int) int {
	t.Helper()
	i := 0
	for ; ; i++ {
		keys, values, _ := interopKillOp(seed, i)
		found := 0
		for j := range keys {
			v, ok := get(keys[j])
			if ok {
				require.Equal(t, values[j], v, "write %d, key %s", i, keys[j])
				found++
			}
		}
		require.True(t, found == 0 || found == len(keys), "write %d is a batch found in part (%d of %d keys)", i, found, len(keys))
		if found == 0 {
			require.GreaterOrEqual(t, i, acked, "acknowledged write %d is missing", i)
			break
		}
	}
	for k := i + 1; k < i+3; k++ {
		keys, _, _ := interopKillOp(seed, k)
		_, ok := get(keys[0])
		require.False(t, ok, "write %d is there without write %d before it", k, i)
	}
	return i
}
