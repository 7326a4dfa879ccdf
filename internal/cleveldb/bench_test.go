//go:build cleveldb

package cleveldb

import (
	"encoding/binary"
	"testing"
)

// These benchmarks measure the binding's own cost around C++ leveldb (one cgo call per
// operation, allocations on the Go side), with db_bench's 16-byte keys and 100-byte values.

func benchKey(dst []byte, i uint64) []byte {
	binary.BigEndian.PutUint64(dst[8:], i)
	return dst
}

func BenchmarkPut(b *testing.B) {
	d := openDB(b, b.TempDir(), Options{})
	defer d.Close()
	k, v := make([]byte, 16), make([]byte, 100)
	b.SetBytes(116)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Put(benchKey(k, uint64(i)), v, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	d := openDB(b, b.TempDir(), Options{})
	defer d.Close()
	k, v := make([]byte, 16), make([]byte, 100)
	const n = 100000
	for i := 0; i < n; i++ {
		if err := d.Put(benchKey(k, uint64(i)), v, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := d.Get(benchKey(k, uint64(i%n))); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkWriteBatch(b *testing.B) {
	d := openDB(b, b.TempDir(), Options{})
	defer d.Close()
	k, v := make([]byte, 16), make([]byte, 100)
	var batch Batch
	b.SetBytes(100 * 116)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.Reset()
		for j := 0; j < 100; j++ {
			batch.Put(benchKey(k, uint64(i*100+j)), v)
		}
		if err := d.Write(&batch, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIterNext(b *testing.B) {
	d := openDB(b, b.TempDir(), Options{})
	defer d.Close()
	k, v := make([]byte, 16), make([]byte, 100)
	for i := 0; i < 100000; i++ {
		if err := d.Put(benchKey(k, uint64(i)), v, false); err != nil {
			b.Fatal(err)
		}
	}
	it := d.NewIterator()
	defer it.Close()
	it.SeekToFirst()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !it.Next() {
			it.SeekToFirst()
		}
		_ = it.Key()
	}
}
