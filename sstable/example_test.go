package sstable_test

import (
	"fmt"
	"path/filepath"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// A DB table: internal keys in, filters over user keys, looked up the way the DB does.
func Example() {
	fs := vfs.NewMem()
	name := filepath.Join("/", "000007.ldb")
	ic := keys.NewInternalComparator(keys.Bytewise)

	f, _ := fs.Create(name)
	w := sstable.NewWriter(f, sstable.WriterOptions{
		Comparator: ic,
		Filter:     sstable.NewBloomPolicy(10),
		FilterKey:  keys.UserKey,
	})
	for i, fruit := range []string{"apple", "banana", "cherry"} {
		ikey := keys.AppendInternalKey(nil, []byte(fruit), keys.SeqNum(i+1), keys.KindSet)
		if err := w.Add(ikey, []byte(fruit+" pie")); err != nil {
			panic(err)
		}
	}
	md, err := w.Finish()
	if err != nil {
		panic(err)
	}
	f.Sync()
	f.Close()
	fmt.Println(keys.FormatInternalKey(md.Smallest), "..", keys.FormatInternalKey(md.Largest), md.Entries, "entries")

	rf, _ := fs.Open(name)
	defer rf.Close()
	r, err := sstable.Open(rf, name, int64(md.Size), sstable.ReaderOptions{
		Comparator: ic,
		Filter:     sstable.NewBloomPolicy(10),
		FilterKey:  keys.UserKey,
		FileNum:    7,
	})
	if err != nil {
		panic(err)
	}
	defer r.Close()

	// Point lookup of "banana" as of sequence number 10.
	lookup := keys.AppendInternalKey(nil, []byte("banana"), 10, keys.KindMax)
	k, v, err := r.Get(nil, lookup, sstable.ReadOptions{})
	fmt.Println(keys.FormatInternalKey(k), string(v), err)

	// A reverse scan.
	it := r.NewIterator(sstable.ReadOptions{})
	for ok := it.Last(); ok; ok = it.Prev() {
		fmt.Println(keys.FormatInternalKey(it.Key()))
	}
	if err := it.Close(); err != nil {
		panic(err)
	}
	// Output:
	// apple#1,SET .. cherry#3,SET 3 entries
	// banana#2,SET banana pie <nil>
	// cherry#3,SET
	// banana#2,SET
	// apple#1,SET
}
