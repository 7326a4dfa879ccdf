package skiplist

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestPublish(t *testing.T) {
	var a uint32
	var b uint64
	publish32(&a, 0xdeadbeef)
	Publish64(&b, 0x0123456789abcdef)
	if a != 0xdeadbeef || b != 0x0123456789abcdef {
		t.Fatalf("stored %#x and %#x", a, b)
	}
}

// TestPublication has one writer fill a slot and then publish its index; readers that observe
// the index must observe the slot's contents. It fails if a publish lands anywhere but its
// address or carries the wrong value. Its ordering can only fail where the hardware reorders
// stores, which amd64, the one platform with the assembly version, does not; the race detector
// checks the ordering of the package's own publications instead (the race tests run with
// sync/atomic's stores, whose happens-before edges it sees).
func TestPublication(t *testing.T) {
	const n = 1 << 16
	slots := make([]uint64, n)
	var published uint32
	var wg sync.WaitGroup
	var bad atomic.Int64
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.LoadUint32(&published)
				if i > 0 && atomic.LoadUint64(&slots[i-1]) != uint64(i)*3 {
					bad.Add(1)
				}
				if i == n {
					return
				}
			}
		}()
	}
	for i := uint32(1); i <= n; i++ {
		slots[i-1] = uint64(i) * 3
		publish32(&published, i)
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d reads saw a published slot unwritten", bad.Load())
	}
}
