package engine

// opBatch is the Batch of the engines that have none of their own to hand a whole batch to
// (badger, bbolt, SQLite): it copies each entry into one buffer, as a workload reuses its key
// buffer from one Put to the next and these engines apply the entries only in Write.
type opBatch struct {
	buf []byte
	ops []batchOp
}

// batchOp is an entry of an opBatch: its key is buf[start:mid], its value buf[mid:end].
type batchOp struct {
	start, mid, end int
	delete          bool
}

func (b *opBatch) Put(key, value []byte) {
	op := batchOp{start: len(b.buf)}
	b.buf = append(b.buf, key...)
	op.mid = len(b.buf)
	b.buf = append(b.buf, value...)
	op.end = len(b.buf)
	b.ops = append(b.ops, op)
}

func (b *opBatch) Delete(key []byte) {
	op := batchOp{start: len(b.buf), delete: true}
	b.buf = append(b.buf, key...)
	op.mid, op.end = len(b.buf), len(b.buf)
	b.ops = append(b.ops, op)
}

func (b *opBatch) Len() int { return len(b.ops) }
func (b *opBatch) Reset()   { b.buf, b.ops = b.buf[:0], b.ops[:0] }

// each calls put or del for every entry in order, and stops at the first error. The slices it
// passes are the batch's own, valid until the batch is next changed.
func (b *opBatch) each(put func(key, value []byte) error, del func(key []byte) error) error {
	for _, op := range b.ops {
		var err error
		if op.delete {
			err = del(b.buf[op.start:op.mid])
		} else {
			err = put(b.buf[op.start:op.mid], b.buf[op.mid:op.end])
		}
		if err != nil {
			return err
		}
	}
	return nil
}
