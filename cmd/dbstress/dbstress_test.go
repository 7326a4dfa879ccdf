package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
)

// TestMain runs dbstress itself, not the tests, when the test binary is started as a --kill
// child: killRun starts os.Executable(), which in a test is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

func runCmd(args ...string) result {
	var out, errb bytes.Buffer
	code := command(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// small is a run at the tests' size: few keys, so that every key is written many times, a
// tiny memtable so that flushes and compactions run.
func small(dir string, extra ...string) []string {
	return append([]string{"--db", dir, "--keys=300", "--threads=3", "--value_size=40",
		"--write_buffer_size=16384", "--progress=0"}, extra...)
}

var summaryRE = regexp.MustCompile(`(?m)^dbstress: (PASS|FAIL) in \S+ on .*: (\d+) operations .* (\d+) writes acknowledged, (\d+) reads verified;.*; (\d+) violations`)

// requirePass requires a clean run with a summary, and returns the summary's counts.
func requirePass(t *testing.T, r result) []string {
	t.Helper()
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Empty(t, r.stderr)
	m := summaryRE.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, "no summary in\n%s", r.stdout)
	require.Equal(t, "PASS", m[1])
	require.Equal(t, "0", m[5])
	return m
}

func TestVersion(t *testing.T) {
	r := runCmd("--version")
	require.Equal(t, exitOK, r.code)
	require.Regexp(t, `^dbstress \S+ \(go\S+ \S+/\S+\)\n$`, r.stdout)
}

// TestHelp: --help lists the flags, not the hidden one, and exits 0.
func TestHelp(t *testing.T) {
	r := runCmd("--help")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stderr, "--kill_interval")
	require.Contains(t, r.stderr, "--db")
	require.NotContains(t, r.stderr, childFlag)
}

// TestUsage: wrong flags and directories dbstress must not use exit 2 with one line.
func TestUsage(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	foreign := filepath.Join(root, "foreign")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644))
	leveldb := filepath.Join(root, "leveldb")
	d, err := db.Open(leveldb, nil)
	require.NoError(t, err)
	require.NoError(t, d.Put([]byte("a"), []byte("b"), nil))
	require.NoError(t, d.Close())
	ran := filepath.Join(root, "ran")
	requirePass(t, runCmd(small(ran, "--ops=200")...))
	badSum := filepath.Join(root, "badsum")
	requirePass(t, runCmd(small(badSum, "--ops=200")...))
	b, err := os.ReadFile(filepath.Join(badSum, expectedName))
	require.NoError(t, err)
	b[headerLen] ^= 1
	require.NoError(t, os.WriteFile(filepath.Join(badSum, expectedName), b, 0o644))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--db is required"},
		{[]string{"--db", root + "/x", "--threads=0"}, "--threads must be"},
		{[]string{"--db", root + "/x", "--keys=2", "--threads=4"}, "must be at least --threads"},
		{[]string{"--db", root + "/x", "--kill_interval=fast"}, "--kill_interval"},
		{[]string{"--db", root + "/x", "--kill_interval=2s-1s"}, "--kill_interval"},
		{[]string{"--db", root + "/x", "--sync_ratio=2"}, "--sync_ratio"},
		{[]string{"--db", root + "/x", "--format=xml"}, "--format"},
		{[]string{"--db", root + "/x", "--max_file_size=4096"}, "--max_file_size must be"},
		{[]string{"--db", root + "/x", "--duration=-1s"}, "--duration"},
		{[]string{"--db", root + "/x", "--nosuchflag"}, "nosuchflag"},
		{[]string{"--db", root + "/x", "extra"}, "unexpected arguments"},
		{[]string{"--db", file}, "not a directory"},
		{[]string{"--db", foreign}, "not empty and is not a dbstress directory"},
		{[]string{"--db", leveldb}, "holds a DB that dbstress did not create"},
		{[]string{"--db", ran, "--keys=500"}, "was stressed with --keys=300"},
		{[]string{"--db", badSum, "--keys=300"}, "checksum mismatch"},
	} {
		r := runCmd(tc.args...)
		require.Equal(t, exitUsage, r.code, "dbstress %v: %+v", tc.args, r)
		require.Contains(t, r.stderr, tc.want, "dbstress %v", tc.args)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), "dbstress %v: one line: %q", tc.args, r.stderr)
		require.Empty(t, r.stdout, "dbstress %v", tc.args)
	}
	// Nothing was written into the directories that are not dbstress's.
	_, err = os.Stat(filepath.Join(leveldb, expectedName))
	require.ErrorIs(t, err, os.ErrNotExist)
	names, err := os.ReadDir(foreign)
	require.NoError(t, err)
	require.Len(t, names, 1)
}

// TestRunClean: a short run passes with progress lines and a summary; a second run continues
// the DB, verifying it first.
func TestRunClean(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	r := runCmd(small(dir, "--duration=1500ms", "--progress=400ms")...)
	m := requirePass(t, r)
	require.Contains(t, r.stdout, "; a new DB")
	require.Regexp(t, `(?m)^dbstress: \d+s: \d+ ops \(\d+ ops/s\), \d+ writes, \d+ reads verified$`, r.stdout)
	for _, n := range m[2:5] {
		v, _ := strconv.Atoi(n)
		require.Positive(t, v, "operations, writes and reads: %s", m[0])
	}
	require.Regexp(t, `[1-9]\d* scans, [1-9]\d* transactions \(\d+ conflicts\), [1-9]\d* snapshots`, r.stdout)

	r = runCmd(small(dir, "--ops=3000", "--threads=2")...)
	requirePass(t, r)
	require.Contains(t, r.stdout, "continuing the DB of an earlier run (verified first)")
	require.Contains(t, r.stdout, ": 3000 operations")
}

// TestRunJSON: --format=json prints one object per line: the start, the progress, the summary.
func TestRunJSON(t *testing.T) {
	r := runCmd(small(filepath.Join(t.TempDir(), "db"), "--ops=4000", "--format=json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var first, last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
	require.Equal(t, "start", first["type"])
	require.Equal(t, "summary", last["type"])
	require.Equal(t, "pass", last["result"])
	require.EqualValues(t, 4000, last["ops"])
	require.EqualValues(t, 0, last["violations"])
}

// TestKill: a --kill run of a few seconds kills several children, verifies the DB after each,
// and passes.
func TestKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	r := runCmd(small(dir, "--kill", "--duration=3s", "--kill_interval=30ms-300ms", "--sync_ratio=0.1")...)
	requirePass(t, r)
	m := regexp.MustCompile(`; (\d+) kills \((\d+) during recovery\), (\d+) recoveries verified, (\d+) writes in flight at the kills`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	kills, _ := strconv.Atoi(m[1])
	recoveries, _ := strconv.Atoi(m[3])
	require.GreaterOrEqual(t, kills, 3, r.stdout)
	require.GreaterOrEqual(t, recoveries, kills, r.stdout)

	// The directory is left clean: a run without --kill continues it.
	requirePass(t, runCmd(small(dir, "--ops=1000")...))
}

// tamper opens the DB in dir and sets key i to value behind dbstress's back.
func tamper(t *testing.T, dir string, i int, value []byte) {
	t.Helper()
	d, err := db.Open(dir, nil)
	require.NoError(t, err)
	if value == nil {
		require.NoError(t, d.Delete(appendKey(nil, i), nil))
	} else {
		require.NoError(t, d.Put(appendKey(nil, i), value, nil))
	}
	require.NoError(t, d.Close())
}

// TestViolation: a value changed behind dbstress's back, or an expected state that disagrees
// with the DB, is found by the next run's check: exit 1, the key with what was expected and what
// was found, the seed and the command that runs it again; the directory is kept, and a later run
// refuses it.
func TestViolation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string, i int, s state)
		want   func(k string, v uint64) string // the violation, a regular expression
	}{
		{"older version", func(t *testing.T, dir string, i int, s state) {
			tamper(t, dir, i, makeValue(i, s.version()-1, 40))
		}, func(k string, v uint64) string {
			return fmt.Sprintf(`key %s: expected version %d "%s@%d/.*, found version %d "%s@%d/`, k, v, k, v, v-1, k, v-1)
		}},
		{"not a value of dbstress", func(t *testing.T, dir string, i int, s state) {
			tamper(t, dir, i, []byte("hello"))
		}, func(k string, v uint64) string {
			return fmt.Sprintf(`key %s: found a value dbstress did not write: "hello" does not start with "%s"@`, k, k)
		}},
		{"deleted", func(t *testing.T, dir string, i int, s state) {
			tamper(t, dir, i, nil)
		}, func(k string, v uint64) string {
			return fmt.Sprintf(`key %s: expected version %d "%s@%d/.*, found absent`, k, v, k, v)
		}},
		{"expected state changed", func(t *testing.T, dir string, i int, s state) {
			exp, _, err := loadExpected(dir)
			require.NoError(t, err)
			exp.set(i, makeState(s.version()+1, true))
			require.NoError(t, saveExpected(dir, exp, statusClean))
		}, func(k string, v uint64) string {
			return fmt.Sprintf(`key %s: expected version %d "%s@%d/.*, found version %d "%s@%d/`, k, v+1, k, v+1, v, k, v)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			requirePass(t, runCmd(small(dir, "--ops=3000")...))
			exp, status, err := loadExpected(dir)
			require.NoError(t, err)
			require.Equal(t, uint32(statusClean), status)
			i := -1
			for j := range exp.len() {
				if s := exp.get(j); s.exists() && s.version() >= 2 {
					i = j
					break
				}
			}
			require.GreaterOrEqual(t, i, 0, "a key put at least twice")
			s := exp.get(i)
			tc.change(t, dir, i, s)

			r := runCmd(small(dir, "--ops=1000", "--seed=42")...)
			require.Equal(t, exitViolation, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Regexp(t, "dbstress: violation: the DB an earlier run left: "+tc.want(keyString(i), s.version()), r.stderr)
			require.Contains(t, r.stderr, "dbstress: seed 42; run again with: dbstress --db "+dir+"-repro ")
			require.Contains(t, r.stderr, "--seed=42")
			require.Contains(t, r.stderr, "kept in "+dir+" for inspection")
			require.Regexp(t, `(?m)^dbstress: FAIL in .*; [1-9]\d* violations$`, r.stdout)

			r = runCmd(small(dir)...)
			require.Equal(t, exitUsage, r.code, r.stderr)
			require.Contains(t, r.stderr, "found a violation, kept for inspection")
		})
	}
}

// TestAdopt: a directory whose run did not finish (its expected state still says running) is
// continued from what the DB holds, after a check that every value is one dbstress wrote.
func TestAdopt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	requirePass(t, runCmd(small(dir, "--ops=2000")...))
	exp, _, err := loadExpected(dir)
	require.NoError(t, err)
	require.NoError(t, saveExpected(dir, exp, statusRunning))
	tamper(t, dir, 7, makeValue(7, exp.get(7).version()+5, 40)) // ahead of the file: the run went on
	r := runCmd(small(dir, "--ops=2000")...)
	requirePass(t, r)
	require.Contains(t, r.stdout, "did not finish")

	require.NoError(t, saveExpected(dir, exp, statusRunning))
	tamper(t, dir, 8, []byte("garbage"))
	r = runCmd(small(dir, "--ops=2000")...)
	require.Equal(t, exitViolation, r.code, r.stderr)
	require.Contains(t, r.stderr, `key k00000008: found a value dbstress did not write: "garbage"`)
}
