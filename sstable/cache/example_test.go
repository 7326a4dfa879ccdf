package cache_test

import (
	"fmt"

	"github.com/stratadb/strata/sstable/cache"
)

func ExampleBlockCache() {
	c := cache.NewBlockCache(8 << 20)
	if _, ok := c.Get(7, 0); !ok {
		block := []byte("a decompressed, checked block") // as read from table 7 at offset 0
		c.Set(7, 0, block)
	}
	b, ok := c.Get(7, 0)
	fmt.Println(string(b), ok)
	c.EvictFile(7) // table 7 was deleted
	st := c.Stats()
	fmt.Println(st.Hits, st.Misses, st.Entries)
	// Output:
	// a decompressed, checked block true
	// 1 1 0
}

// table stands for an open table reader such as *sstable.Reader.
type table struct{ fileNum uint64 }

func (t *table) Close() error {
	fmt.Println("close", t.fileNum)
	return nil
}

func ExampleTableCache() {
	open := func(fileNum uint64) (*table, error) {
		fmt.Println("open", fileNum)
		return &table{fileNum}, nil
	}
	c := cache.NewTableCache(1, open) // at most one unreferenced table open
	h, err := c.Acquire(1)
	if err != nil {
		panic(err)
	}
	h2, _ := c.Acquire(1) // a hit: the same table
	fmt.Println(h.Value() == h2.Value())
	h2.Release()
	h.Release()

	h, _ = c.Acquire(2) // table 1 is idle and over capacity: closed before 2 is opened
	h.Release()
	_ = c.Close()
	// Output:
	// open 1
	// true
	// close 1
	// open 2
	// close 2
}
