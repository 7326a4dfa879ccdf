package db

import (
	"iter"
	"sync"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/keys"
)

// Batch collects puts and deletes that Write applies atomically: all of them or, after any crash,
// none. The zero value is an empty batch ready to use. A Batch is not safe for concurrent use; it
// may be reused after Write returns (Reset it first) and may be written to several DBs.
type Batch struct {
	repr batch.Repr
}

// Put adds the write of key with value. The batch copies both.
func (b *Batch) Put(key, value []byte) { b.repr.AppendPut(key, value) }

// Delete adds the deletion of key. The batch copies it.
func (b *Batch) Delete(key []byte) { b.repr.AppendDelete(key) }

// Len returns the number of puts and deletes in the batch.
func (b *Batch) Len() int {
	if len(b.repr) < batch.HeaderLen {
		return 0
	}
	return int(b.repr.Count())
}

// Size returns the batch's encoded size in bytes, as it will be written to the log.
func (b *Batch) Size() int { return max(len(b.repr), batch.HeaderLen) }

// Reset empties the batch, keeping its storage.
func (b *Batch) Reset() { b.repr.Reset() }

// Append adds every operation of other, in order, after those of b.
func (b *Batch) Append(other *Batch) {
	if other.Len() > 0 {
		b.repr.Append(other.repr)
	}
}

// All yields the operations of the batch in order: the key and value of each put, and the key
// and a nil value of each delete (deleted reports which). The slices alias the batch.
func (b *Batch) All() iter.Seq2[[]byte, Op] {
	return func(yield func([]byte, Op) bool) {
		if b.Len() == 0 {
			return
		}
		r, err := batch.NewReader(b.repr, "batch", 0)
		if err != nil {
			return
		}
		for kind, key, value, ok := r.Next(); ok; kind, key, value, ok = r.Next() {
			if !yield(key, Op{Value: value, Deleted: kind == keys.KindDelete}) {
				return
			}
		}
	}
}

// Op is one operation of a Batch, as All yields it.
type Op struct {
	Value   []byte // the value of a put; nil for a delete
	Deleted bool   // the operation is a delete
}

// batchPool recycles the single-operation batches of Put and Delete.
var batchPool = sync.Pool{New: func() any { return new(Batch) }}

// maxPooledBatch keeps a batch that carried a huge value from pinning its buffer in the pool.
const maxPooledBatch = 64 << 10

func getBatch() *Batch { return batchPool.Get().(*Batch) }

func putBatch(b *Batch) {
	if cap(b.repr) > maxPooledBatch {
		return
	}
	b.Reset()
	batchPool.Put(b)
}
