package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func init() {
	adapters["pebble"] = &adapter{
		name:      "pebble",
		load:      newPebbleLoader,
		verify:    newPebbleChecker,
		outsideGo: func(p memPlan) (int64, int64) { return pebbleLoadCache(p), pebbleVerifyCache(p) },
		memory: func(p memPlan) string {
			return fmt.Sprintf("load: sstables written with sstable.Writer and ingested (no memtable used), Cache %s, MemTableSize %s (pebble charges its memtables to the cache); verify: Cache %s, MemTableSize default (4 MiB); the cache is allocated outside the Go heap",
				mib(pebbleLoadCache(p)), mib(p.Memtables/2), mib(pebbleVerifyCache(p)))
		},
	}
}

func pebbleLoadCache(p memPlan) int64   { return p.LoadCache + p.Memtables }
func pebbleVerifyCache(p memPlan) int64 { return p.VerifyCache + 2*(4<<20) }

// pebbleTableBytes is the size at which the loader starts the next sstable of a chunk: pebble's
// default target size for the last level, 128 MiB.
const pebbleTableBytes = 128 << 20

// pebbleOptions are the options of both phases: the newest format, a 10-bit bloom filter on
// every level (pebble has none by default), the rest pebble's defaults.
func pebbleOptions(cacheBytes, memtable int64) *pebble.Options {
	cache := pebble.NewCache(cacheBytes)
	o := &pebble.Options{
		Cache:              cache,
		MemTableSize:       uint64(memtable),
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietPebble{},
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	o.EnsureDefaults()
	return o
}

// quietPebble keeps pebble's informational lines off the progress lines.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any) {}
func (quietPebble) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietPebble) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
	os.Exit(1)
}

// pebbleLoader writes each chunk, sorted, as sstables of up to pebbleTableBytes with pebble's
// sstable.Writer, and ingests them in one call: pebble puts each at the lowest level where it
// overlaps nothing, so the first chunk lands in the last level, and the later ones, which
// overlap it, above it, for compactions to merge. An ingestion syncs the tables and the
// MANIFEST, so each is durable when Ingest returns.
type pebbleLoader struct {
	d       *pebble.DB
	o       *pebble.Options
	tmp     string // where the tables are written before their ingestion
	written int    // tables written so far, to name them
}

func newPebbleLoader(dir string, p memPlan) (loader, error) {
	o := pebbleOptions(pebbleLoadCache(p), p.Memtables/2)
	defer o.Cache.Unref() // the DB holds its own reference
	o.ErrorIfExists = true
	d, err := pebble.Open(dir, o)
	if err != nil {
		return nil, err
	}
	tmp := dir + ".ingest" // beside the DB, on its filesystem, so the ingestion links the tables
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		d.Close()
		return nil, err
	}
	return &pebbleLoader{d: d, o: o, tmp: tmp}, nil
}

func (l *pebbleLoader) add(c *chunk, done func(int)) error {
	c.Sort()
	wo := l.o.MakeWriterOptions(0, l.d.TableFormat())
	var paths []string
	var w *sstable.Writer
	closeTable := func() error {
		if w == nil {
			return nil
		}
		err := w.Close() // syncs the file
		w = nil
		return err
	}
	pending := 0
	for i := range c.Len() {
		if w == nil {
			path := filepath.Join(l.tmp, fmt.Sprintf("%06d.sst", l.written))
			l.written++
			f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
			if err != nil {
				return err
			}
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
			paths = append(paths, path)
		}
		if err := w.Set(c.Name(i), nil); err != nil {
			w.Close()
			return err
		}
		if pending++; pending == progressStep {
			done(pending)
			pending = 0
			if w.Raw().EstimatedSize() >= pebbleTableBytes {
				if err := closeTable(); err != nil {
					return err
				}
			}
		}
	}
	done(pending)
	if err := closeTable(); err != nil {
		return err
	}
	return l.d.Ingest(context.Background(), paths)
}

func (l *pebbleLoader) finish() error {
	err := l.d.Close()
	if rerr := os.RemoveAll(l.tmp); err == nil {
		err = rerr
	}
	return err
}

// pebbleChecker sorts each chunk and walks it with one iterator's SeekGE: as the keys only grow,
// pebble moves each level's iterator forward from where it is (its seek-using-next) instead of
// seeking it from the top.
type pebbleChecker struct{ d *pebble.DB }

func newPebbleChecker(dir string, p memPlan) (checker, error) {
	o := pebbleOptions(pebbleVerifyCache(p), 4<<20)
	defer o.Cache.Unref()
	o.ErrorIfNotExists = true
	d, err := pebble.Open(dir, o)
	if err != nil {
		return nil, err
	}
	return &pebbleChecker{d: d}, nil
}

func (pc *pebbleChecker) check(c *chunk, missing func([]byte), done func(int)) error {
	c.Sort()
	it, err := pc.d.NewIter(nil)
	if err != nil {
		return err
	}
	for i := range c.Len() {
		name := c.Name(i)
		if !it.SeekGE(name) || !bytes.Equal(it.Key(), name) {
			missing(name)
		}
		if i%progressStep == progressStep-1 {
			done(progressStep)
		}
	}
	done(c.Len() % progressStep)
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

func (pc *pebbleChecker) close() error { return pc.d.Close() }
