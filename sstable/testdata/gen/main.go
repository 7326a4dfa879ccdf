//go:build cleveldb

// Command gen writes the table fixtures of sstable/testdata with C++ leveldb 1.23 (through
// internal/cleveldb, so it needs cgo and Debian's libleveldb-dev):
//
//	go run -tags cleveldb ./sstable/testdata/gen
//
// It writes leveldb/<name>.ldb for every tablespec.Specs() entry and broken/<name>.ldb for
// every tablespec.BrokenFixtures() entry, reads each good table back through C++ to check it
// against its spec, and prints the files with their sizes. Its output is deterministic (the
// entries come from tablespec's own generator, and leveldb and snappy are deterministic for a
// given input), so running it again must leave `git status` clean. See README.md.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"

	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/testutil/tablespec"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	dir := flag.String("dir", defaultDir(), "the sstable/testdata directory to write into")
	flag.Parse()

	good := filepath.Join(*dir, "leveldb")
	broken := filepath.Join(*dir, "broken")
	for _, d := range []string{good, broken} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			log.Fatal(err)
		}
		// Stale fixtures of specs that no longer exist must not linger.
		old, _ := filepath.Glob(filepath.Join(d, "*.ldb"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				log.Fatal(err)
			}
		}
	}

	var total int64
	for _, s := range tablespec.Specs() {
		path := filepath.Join(good, s.FileName())
		size, err := cleveldb.WriteTable(path, cleveldb.TableOptionsFor(s), s.All())
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		if err := check(path, s); err != nil {
			log.Fatalf("%s: read back: %v", path, err)
		}
		blocks, err := describeBlocks(path, s)
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		fmt.Printf("%-32s %8d bytes  %-22s %s\n", filepath.Join("leveldb", s.FileName()), size, blocks, s.Doc)
		total += int64(size)
	}

	tmp, err := os.MkdirTemp("", "strata-gen")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	base, err := writeBase(tmp)
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range tablespec.BrokenFixtures() {
		data, err := makeBroken(b.Name, base, tmp)
		if err != nil {
			log.Fatalf("%s: %v", b.Name, err)
		}
		path := filepath.Join(broken, b.FileName())
		if err := os.WriteFile(path, data, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-32s %8d bytes  %-22s %s\n", filepath.Join("broken", b.FileName()), len(data), "", b.Doc)
		total += int64(len(data))
	}
	fmt.Printf("total %d bytes\n", total)
}

// defaultDir is sstable/testdata, found from this source file's path.
func defaultDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "sstable/testdata"
	}
	return filepath.Dir(filepath.Dir(file))
}

// check reads the table at path back through C++ and compares it with s.Entries().
func check(path string, s tablespec.Spec) error {
	want := s.Entries()
	i := 0
	err := cleveldb.ReadTable(path, cleveldb.TableOptionsFor(s), func(k, v []byte) error {
		if i >= len(want) {
			return fmt.Errorf("extra entry %q", k)
		}
		if !bytes.Equal(k, want[i].Key) || !bytes.Equal(v, want[i].Value) {
			return fmt.Errorf("entry %d: got key %q (%d-byte value), want %q (%d-byte value)",
				i, k, len(v), want[i].Key, len(want[i].Value))
		}
		i++
		return nil
	})
	if err == nil && i != len(want) {
		err = fmt.Errorf("%d entries, want %d", i, len(want))
	}
	return err
}

// describeBlocks counts the table's data blocks by how they are stored, and checks that a snappy
// table with incompressible runs got both kinds, as tablespec promises.
func describeBlocks(path string, s tablespec.Spec) (string, error) {
	f, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	compressed, raw, err := blockTypes(f)
	if err != nil {
		return "", err
	}
	if s.Compression && s.IncompressiblePercent > 0 && (compressed == 0 || raw == 0) {
		return "", fmt.Errorf("%d snappy and %d raw data blocks: want both", compressed, raw)
	}
	return fmt.Sprintf("%d blocks (%d snappy)", compressed+raw, compressed), nil
}

// writeBase writes tablespec.BrokenBase() with C++ and returns the file's bytes.
func writeBase(tmp string) ([]byte, error) {
	s := tablespec.BrokenBase()
	path := filepath.Join(tmp, s.FileName())
	if _, err := cleveldb.WriteTable(path, cleveldb.TableOptionsFor(s), s.All()); err != nil {
		return nil, err
	}
	if err := check(path, s); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// makeBroken returns the bytes of the broken fixture name, made from the base table as
// tablespec.BrokenFixtures documents.
func makeBroken(name string, base []byte, tmp string) ([]byte, error) {
	f := bytes.Clone(base)
	t, err := parse(f)
	if err != nil {
		return nil, err
	}
	if len(t.data) == 0 {
		return nil, errors.New("the base table has no data block")
	}
	first := t.data[0]
	switch name {
	case "bad-magic":
		if f[len(f)-1] != 0xdb {
			return nil, errors.New("magic does not end in 0xdb")
		}
		f[len(f)-1] = 0xda
		return f, nil
	case "truncated-footer":
		return f[:len(f)-20], nil
	case "too-short":
		return f[:40], nil
	case "flipped-data-byte":
		_, valueAt, err := entryAt(f[first.off:first.off+first.size], 0)
		if err != nil {
			return nil, err
		}
		f[first.off+uint64(valueAt)] ^= 0x01
		return f, nil
	case "lying-handle-offset", "lying-handle-size":
		last := t.indexValues[len(t.indexValues)-1] // file offset of the last handle
		off, n1, err := uvarint(f[last:])
		if err != nil {
			return nil, err
		}
		size, n2, err := uvarint(f[last+uint64(n1):])
		if err != nil {
			return nil, err
		}
		if name == "lying-handle-offset" {
			err = putSameWidth(f[last:last+uint64(n1)], off, 2_000_000)
		} else {
			err = putSameWidth(f[last+uint64(n1):last+uint64(n1+n2)], size, 16383)
		}
		if err != nil {
			return nil, err
		}
		fixChecksum(f, t.index)
		return f, nil
	case "bad-compression-type":
		f[first.off+first.size] = 7
		fixChecksum(f, first)
		return f, nil
	case "bad-restart-count":
		end := first.off + first.size
		putFixed32(f[end-4:end], 0x00ffffff)
		fixChecksum(f, first)
		return f, nil
	case "out-of-order-keys":
		s := tablespec.BrokenBase()
		es := s.Entries()
		i, j := tablespec.OutOfOrderSwap[0], tablespec.OutOfOrderSwap[1]
		es[i], es[j] = es[j], es[i]
		o := cleveldb.TableOptionsFor(s)
		o.Comparator = cleveldb.AnyOrder
		path := filepath.Join(tmp, name+".ldb")
		_, err := cleveldb.WriteTable(path, o, func(yield func(k, v []byte) bool) {
			for _, e := range es {
				if !yield(e.Key, e.Value) {
					return
				}
			}
		})
		if err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}
	return nil, fmt.Errorf("no recipe for broken fixture %q", name)
}
