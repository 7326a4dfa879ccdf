//go:build cleveldb

package engine

import (
	"os/exec"
	"regexp"
	"strings"

	"github.com/stratadb/strata/internal/cleveldb"
)

func init() {
	register(&Engine{
		Name:    "cleveldb",
		Title:   "C++ leveldb",
		Version: cleveldbVersion(),
		Open:    openCleveldb,
	})
}

// cleveldbVersion asks dpkg which libleveldb the binding links against.
func cleveldbVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "libleveldb-dev").Output()
	if err != nil || len(out) == 0 {
		return "1.23 (libleveldb-dev)"
	}
	return "libleveldb-dev " + strings.TrimSpace(string(out))
}

type cleveldbDB struct{ d *cleveldb.DB }

// openCleveldb passes every setting through; what differs is the binding: one cgo call per
// operation, and Get copies the value into Go memory.
func openCleveldb(dir string, s Settings) (DB, error) {
	d, err := cleveldb.Open(dir, cleveldb.Options{
		CreateIfMissing: true,
		WriteBufferSize: s.WriteBufferSize,
		BlockSize:       s.BlockSize,
		MaxOpenFiles:    s.MaxOpenFiles,
		MaxFileSize:     s.MaxFileSize,
		BlockCacheSize:  s.BlockCacheSize,
		Compression:     s.Compression,
		BloomBitsPerKey: max(s.BloomBitsPerKey, 0),
	})
	if err != nil {
		return nil, err
	}
	return &cleveldbDB{d: d}, nil
}

func (c *cleveldbDB) Put(key, value []byte, sync bool) error { return c.d.Put(key, value, sync) }
func (c *cleveldbDB) Delete(key []byte, sync bool) error     { return c.d.Delete(key, sync) }
func (c *cleveldbDB) Get(key []byte) ([]byte, bool, error)   { return c.d.Get(key) }
func (c *cleveldbDB) NewBatch() Batch                        { return &cleveldb.Batch{} }

func (c *cleveldbDB) Write(b Batch, sync bool) error {
	return c.d.Write(b.(*cleveldb.Batch), sync)
}

func (c *cleveldbDB) NewIterator() (Iterator, error) {
	it := c.d.NewIterator()
	if err := it.Error(); err != nil {
		it.Close()
		return nil, err
	}
	return cleveldbIter{it}, nil
}

func (c *cleveldbDB) CompactAll() error { return c.d.CompactRange(nil, nil) }

// cleveldbTableSize matches a table in leveldb.sstables: " 12:2117045['key' @ 5 : 1 .. ...]".
var cleveldbTableSize = regexp.MustCompile(`(?m)^ *\d+:(\d+)\[`)

func (c *cleveldbDB) TableBytes() (int64, error) {
	p, _ := c.d.Property("leveldb.sstables")
	return sumMatches(cleveldbTableSize, p)
}

func (c *cleveldbDB) Close() error { return c.d.Close() }

// cleveldbIter renames the binding's SeekToFirst and SeekToLast.
type cleveldbIter struct{ *cleveldb.Iterator }

func (i cleveldbIter) First() bool { return i.SeekToFirst() }
func (i cleveldbIter) Last() bool  { return i.SeekToLast() }
