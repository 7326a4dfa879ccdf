package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/db"
)

// fileState is what must not change about a file.
type fileState struct {
	data  []byte
	mode  os.FileMode
	mtime time.Time
}

func snapshotDir(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]fileState)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if fi.Mode().IsRegular() {
			if data, err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		m[e.Name()] = fileState{data, fi.Mode(), fi.ModTime()}
	}
	return m
}

func compareSnapshots(t *testing.T, what string, before, after map[string]fileState) {
	t.Helper()
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			t.Errorf("%s: %s disappeared", what, name)
		case !bytes.Equal(a.data, b.data):
			t.Errorf("%s: %s changed", what, name)
		case a.mode != b.mode || !a.mtime.Equal(b.mtime):
			t.Errorf("%s: %s mode or mtime changed: %v %v -> %v %v", what, name, b.mode, b.mtime, a.mode, a.mtime)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: %s appeared", what, name)
		}
	}
}

// everyCommand lists a run of every command over the DB in dir and each of its files.
func everyCommand(t *testing.T, dir string) [][]string {
	t.Helper()
	cmds := [][]string{
		{"db", dir}, {"db", "--check", dir}, {"check", dir}, {dir},
		{"compat", dir}, {"compat", "--json", dir},
		{"help"}, {"scan", "-h"},
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		cmds = append(cmds, []string{p}, []string{"check", p}, []string{"scan", p}, []string{"props", p},
			[]string{"log", p}, []string{"manifest", p}, []string{"scan", "--format=json", "--hex", p})
	}
	return cmds
}

// TestNoWrites runs every command over a DB directory from which LOCK was removed and checks
// that no file changed (contents, mode, mtime) and none appeared: in particular sstdump never
// creates LOCK, which taking the lock would.
func TestNoWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	copyDir(t, strataDir(t), dir)
	if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	time.Sleep(10 * time.Millisecond) // so a write would show in a coarse mtime too
	for _, args := range everyCommand(t, dir) {
		if r := runCmd(args...); r.code > 2 || strings.Contains(r.stderr, "internal error") {
			t.Errorf("sstdump %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	compareSnapshots(t, "after every command", before, snapshotDir(t, dir))
}

// TestWhileDBOpen runs sstdump over a DB that Strata has open (and whose LOCK it holds): every
// command works, nothing changes, and the DB goes on working and closes cleanly.
func TestWhileDBOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	copyDir(t, strataDir(t), dir)
	d, err := db.Open(dir, &db.Options{ErrorIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	for _, args := range [][]string{{"db", "--check", dir}, {"check", dir}, {"compat", dir}} {
		if r := runCmd(args...); r.code != 0 {
			t.Errorf("sstdump %s while the DB is open: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range everyCommand(t, dir) {
		if r := runCmd(args...); r.code > 2 || strings.Contains(r.stderr, "internal error") {
			t.Errorf("sstdump %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	compareSnapshots(t, "with the DB open", before, snapshotDir(t, dir))
	if _, err := db.Open(dir, nil); err == nil {
		t.Error("a second Open succeeded: the DB's lock is gone")
	}
	if err := d.Put([]byte("after"), []byte("sstdump"), &db.WriteOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Get([]byte("after"), nil); err != nil || string(v) != "sstdump" {
		t.Fatalf("Get after sstdump: %q, %v", v, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
