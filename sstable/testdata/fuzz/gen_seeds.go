// Command gen_seeds writes the checked-in seed corpora of FuzzTable and FuzzBlock (go test fuzz
// v1 files) from the tables C++ leveldb wrote in ../leveldb and a broken one in ../broken:
//
//	go run sstable/testdata/fuzz/gen_seeds.go sstable/testdata sstable/testdata/fuzz
//
// Tables and blocks over 4 KiB are left out: small seeds let the fuzzer mutate quickly.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

func corpus(path string, data []byte) {
	if err := os.WriteFile(path, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)), 0o644); err != nil {
		panic(err)
	}
}

func main() {
	src, dst := os.Args[1], os.Args[2]
	tdir, bdir := filepath.Join(dst, "FuzzTable"), filepath.Join(dst, "FuzzBlock")
	os.MkdirAll(tdir, 0o755)
	os.MkdirAll(bdir, 0o755)
	for _, name := range []string{"empty.ldb", "single-empty-key.ldb", "restart1.ldb", "bloom.ldb"} {
		data, err := os.ReadFile(filepath.Join(src, "leveldb", name))
		if err != nil {
			panic(err)
		}
		if len(data) < 4096 {
			corpus(filepath.Join(tdir, "leveldb-"+name), data)
		}
		// The index block: the footer's second handle; its trailer's type byte says whether it
		// is compressed (only raw blocks make FuzzBlock seeds).
		f := data[len(data)-48:]
		_, n1 := binary.Uvarint(f)
		_, n2 := binary.Uvarint(f[n1:])
		off, n3 := binary.Uvarint(f[n1+n2:])
		size, _ := binary.Uvarint(f[n1+n2+n3:])
		blk := data[off : off+size]
		if data[off+size] == 0 && len(blk) < 4096 {
			corpus(filepath.Join(bdir, "leveldb-index-"+name), blk)
		}
		// The first data block (an empty table has none), named by the index block's first
		// entry: shared 0, unshared and value length varints, the key, then the handle.
		_, a := binary.Uvarint(blk)
		ks, b := binary.Uvarint(blk[a:])
		_, c := binary.Uvarint(blk[a+b:])
		h := blk[a+b+c+int(ks):]
		doff, d1 := binary.Uvarint(h)
		dsize, _ := binary.Uvarint(h[d1:])
		if name != "empty.ldb" && dsize > 0 && data[doff+dsize] == 0 && dsize < 4096 {
			corpus(filepath.Join(bdir, "leveldb-data-"+name), data[doff:doff+dsize])
		}
	}
	for _, name := range []string{"too-short.ldb"} {
		data, _ := os.ReadFile(filepath.Join(src, "broken", name))
		corpus(filepath.Join(tdir, "broken-"+name), data)
	}
}
