package main

import (
	"errors"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/benchgen"
)

// Transactions against their baseline. Both draw, per operation, two random keys below --num
// and two values, as benchgen.Writes draws them for fillrandom, so that for the same seed both
// write the same keys with the same values; neither syncs.

// txnRandom runs --num transactions through DB.Update, each reading its two keys (a key not
// found is a read too) and writing both with new values. A transaction that conflicts runs
// again with the same keys and values; the conflicts are counted for the report.
func (r *runner) txnRandom(t *thread) {
	t.s.countConflicts = true
	w := benchgen.Writes{RNG: t.rng, Gen: t.gen, Keys: r.c.num, ValueSize: r.c.valueSize, Random: true}
	var e benchgen.Entries
	runs := 0
	body := func(tx *db.Transaction) error {
		runs++
		for _, k := range e.Keys {
			if _, err := tx.Get(k); err != nil && !errors.Is(err, db.ErrNotFound) {
				return err
			}
		}
		for i, k := range e.Keys {
			if err := tx.Put(k, e.Values[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < r.c.num; i++ {
		e.Reset()
		var bytes int64
		t.key, bytes = w.Put(&e, t.key, 2*i, 2)
		runs = 0
		err := r.db.Update(body)
		for errors.Is(err, db.ErrConflict) { // Update gave up after its attempts: go on
			err = r.db.Update(body)
		}
		r.check(err)
		t.s.conflicts += int64(runs - 1)
		t.s.bytes += bytes
		t.s.finishedOps(1)
	}
}

// batch2Random is txnrandom's baseline: --num batches of two puts, written with DB.Write,
// reading nothing.
func (r *runner) batch2Random(t *thread) {
	w := benchgen.Writes{RNG: t.rng, Gen: t.gen, Keys: r.c.num, ValueSize: r.c.valueSize, Random: true}
	for i := 0; i < r.c.num; i++ {
		t.batch.Reset()
		var bytes int64
		t.key, bytes = w.Put(&t.batch, t.key, 2*i, 2)
		r.check(r.db.Write(&t.batch, nil))
		t.s.bytes += bytes
		t.s.finishedOps(1)
	}
}
