//go:build cleveldb

package main

import (
	"testing"

	"github.com/stratadb/strata/internal/cleveldb"
)

func init() { checkBuiltDB = openInCleveldb }

// openInCleveldb opens the DB Strata built in C++ leveldb 1.23 and checks that it holds exactly
// the n names: n keys in order, every thousandth line's name found, no absent name.
func openInCleveldb(t *testing.T, engine, dir string, n int64, g *generator) {
	if engine != "strata" {
		return
	}
	d, err := cleveldb.Open(dir, cleveldb.Options{BloomBitsPerKey: 10})
	if err != nil {
		t.Fatalf("C++ leveldb cannot open the DB Strata built: %v", err)
	}
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}()
	it := d.NewIterator()
	var count int64
	var prev []byte
	for ok := it.SeekToFirst(); ok; ok = it.Next() {
		if count > 0 && string(it.Key()) <= string(prev) {
			t.Fatalf("C++ leveldb: key %q after %q", it.Key(), prev)
		}
		prev = append(prev[:0], it.Key()...)
		count++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("C++ leveldb counts %d keys, want %d", count, n)
	}
	for i := uint64(0); i < uint64(n); i += 1000 {
		name := g.appendLine(nil, i)
		if _, found, err := d.Get(name); err != nil || !found {
			t.Fatalf("C++ leveldb: line %d, %q: found %v, %v", i, name, found, err)
		}
	}
	for _, name := range g.absent() {
		if _, found, err := d.Get(name); err != nil || found {
			t.Fatalf("C++ leveldb: absent %q: found %v, %v", name, found, err)
		}
	}
	t.Logf("C++ leveldb opened the DB and counted %d keys", count)
}
