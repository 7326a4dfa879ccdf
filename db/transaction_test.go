package db

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// txnGet is tx.Get with ErrNotFound as ("", false).
func txnGet(t testing.TB, tx *Transaction, key string) (string, bool) {
	t.Helper()
	v, err := tx.Get([]byte(key))
	if errors.Is(err, ErrNotFound) {
		return "", false
	}
	require.NoError(t, err)
	return string(v), true
}

// txnScan reads [lo, hi) through tx's iterator, forward.
func txnScan(t testing.TB, tx *Transaction, lo, hi string) kv {
	t.Helper()
	it := tx.NewIterator(&ReadOptions{LowerBound: []byte(lo), UpperBound: []byte(hi)})
	got := kv{}
	for ok := it.First(); ok; ok = it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Close())
	return got
}

// TestTxnWriteSkew: two transactions each read x and y and write one of them (the classic
// anomaly snapshot isolation allows): the second to commit fails, whichever it is.
func TestTxnWriteSkew(t *testing.T) {
	for _, firstCommits := range []string{"x", "y"} {
		t.Run("first="+firstCommits, func(t *testing.T) {
			d := openMem(t, vfs.NewMem(), nil)
			defer d.Close()
			require.NoError(t, d.Put([]byte("x"), []byte("1"), nil))
			require.NoError(t, d.Put([]byte("y"), []byte("1"), nil))
			txs := map[string]*Transaction{}
			for _, k := range []string{"x", "y"} {
				tx := d.NewTransaction()
				defer tx.Discard()
				x, _ := txnGet(t, tx, "x")
				y, _ := txnGet(t, tx, "y")
				require.Equal(t, "1", x)
				require.Equal(t, "1", y)
				require.NoError(t, tx.Put([]byte(k), []byte("0")))
				txs[k] = tx
			}
			second := map[string]string{"x": "y", "y": "x"}[firstCommits]
			require.NoError(t, txs[firstCommits].Commit(nil))
			require.ErrorIs(t, txs[second].Commit(nil), ErrConflict)
			v, err := d.Get([]byte(second), nil)
			require.NoError(t, err)
			require.Equal(t, "1", string(v), "the failed transaction wrote nothing")
		})
	}
}

// TestTxnPhantom: a transaction scans a range and writes a summary of it; another reads the
// summary and inserts into the range. Without phantom protection both commit and the summary is
// wrong; here the second to commit fails, in either order. A blind insert into a scanned range
// makes the scanner fail too.
func TestTxnPhantom(t *testing.T) {
	setup := func(t *testing.T) *DB {
		d := openMem(t, vfs.NewMem(), nil)
		for _, k := range []string{"item/a", "item/c"} {
			require.NoError(t, d.Put([]byte(k), []byte("1"), nil))
		}
		require.NoError(t, d.Put([]byte("summary"), []byte("2"), nil))
		return d
	}
	scanner := func(t *testing.T, d *DB) *Transaction {
		tx := d.NewTransaction()
		n := len(txnScan(t, tx, "item/", "item0"))
		require.NoError(t, tx.Put([]byte("summary"), []byte(strconv.Itoa(n))))
		return tx
	}
	inserter := func(t *testing.T, d *DB) *Transaction {
		tx := d.NewTransaction()
		s, _ := txnGet(t, tx, "summary")
		require.Equal(t, "2", s)
		require.NoError(t, tx.Put([]byte("item/b"), []byte("1")))
		return tx
	}
	t.Run("scanner first", func(t *testing.T) {
		d := setup(t)
		defer d.Close()
		s, i := scanner(t, d), inserter(t, d)
		require.NoError(t, s.Commit(nil))
		require.ErrorIs(t, i.Commit(nil), ErrConflict)
	})
	t.Run("inserter first", func(t *testing.T) {
		d := setup(t)
		defer d.Close()
		s, i := scanner(t, d), inserter(t, d)
		require.NoError(t, i.Commit(nil))
		require.ErrorIs(t, s.Commit(nil), ErrConflict)
	})
	t.Run("blind insert", func(t *testing.T) {
		d := setup(t)
		defer d.Close()
		s := scanner(t, d)
		require.NoError(t, d.Put([]byte("item/b"), []byte("1"), nil)) // a plain write
		require.ErrorIs(t, s.Commit(nil), ErrConflict)
	})
	t.Run("insert outside the range", func(t *testing.T) {
		d := setup(t)
		defer d.Close()
		s := scanner(t, d)
		require.NoError(t, d.Put([]byte("item0"), []byte("1"), nil)) // the upper bound, excluded
		require.NoError(t, d.Put([]byte("itel"), []byte("1"), nil))
		require.NoError(t, s.Commit(nil))
	})
}

// TestTxnIteratorCoverage: the ranges an iterator covers are exactly from where it was
// positioned to where it stopped, in either direction: a write inside conflicts, one outside
// does not.
func TestTxnIteratorCoverage(t *testing.T) {
	keysIn := []string{"b", "d", "f", "h", "j"}
	cases := []struct {
		name    string
		walk    func(it *Iterator)
		in, out []string // keys whose write must conflict, must not
	}{
		{"first,next", func(it *Iterator) { it.First(); it.Next() }, []string{"a", "b", "c", "d"}, []string{"e", "k"}},
		{"seek,next", func(it *Iterator) { it.Seek([]byte("c")); it.Next() }, []string{"c", "d", "e", "f"}, []string{"b", "g"}},
		{"last,prev", func(it *Iterator) { it.Last(); it.Prev() }, []string{"h", "i", "j", "z"}, []string{"g", "a"}},
		{"seeklt,prev", func(it *Iterator) { it.SeekLT([]byte("g")); it.Prev() }, []string{"d", "e", "f", "fz"}, []string{"c", "g", "h"}},
		{"seek past the end", func(it *Iterator) { it.Seek([]byte("k")) }, []string{"k", "zz"}, []string{"j"}},
		{"seek,next,prev", func(it *Iterator) { it.Seek([]byte("c")); it.Next(); it.Prev() }, []string{"c", "d", "e", "f"}, []string{"b", "g"}},
		{"last,prev,next", func(it *Iterator) { it.SeekLT([]byte("i")); it.Prev(); it.Next() }, []string{"f", "g", "h", "hz"}, []string{"e", "i"}},
		{"to the end", func(it *Iterator) {
			for ok := it.Seek([]byte("i")); ok; ok = it.Next() {
			}
		}, []string{"i", "j", "zzz"}, []string{"h"}},
	}
	for _, c := range cases {
		for _, k := range append(append([]string{}, c.in...), c.out...) {
			conflict := false
			for _, in := range c.in {
				conflict = conflict || in == k
			}
			t.Run(fmt.Sprintf("%s/write %s", c.name, k), func(t *testing.T) {
				d := openMem(t, vfs.NewMem(), nil)
				defer d.Close()
				for _, k := range keysIn {
					require.NoError(t, d.Put([]byte(k), []byte("v"), nil))
				}
				tx := d.NewTransaction()
				defer tx.Discard()
				it := tx.NewIterator(nil)
				c.walk(it)
				require.NoError(t, it.Close())
				require.NoError(t, tx.Put([]byte("result"), []byte("x")))
				require.NoError(t, d.Put([]byte(k), []byte("new"), nil))
				if err := tx.Commit(nil); conflict {
					require.ErrorIs(t, err, ErrConflict)
				} else {
					require.NoError(t, err)
				}
			})
		}
	}
}

// TestTxnEmptyKeyRange: the empty key is a key, not an unbounded end: an iterator that stopped on
// it covered it alone.
func TestTxnEmptyKeyRange(t *testing.T) {
	for _, write := range []string{"", "a"} {
		t.Run(fmt.Sprintf("write %q", write), func(t *testing.T) {
			d := openMem(t, vfs.NewMem(), nil)
			defer d.Close()
			require.NoError(t, d.Put([]byte(""), []byte("empty"), nil))
			require.NoError(t, d.Put([]byte("b"), []byte("v"), nil))
			tx := d.NewTransaction()
			defer tx.Discard()
			it := tx.NewIterator(nil)
			require.True(t, it.Seek(nil))
			require.Equal(t, "", string(it.Key()))
			require.NoError(t, it.Close())
			require.NoError(t, tx.Put([]byte("result"), []byte("x")))
			require.NoError(t, d.Put([]byte(write), []byte("new"), nil))
			if err := tx.Commit(nil); write == "" {
				require.ErrorIs(t, err, ErrConflict)
			} else {
				require.NoError(t, err, "the range [\"\", \"\"] does not hold %q", write)
			}
		})
	}
}

// TestTxnReadsItsWrites: Get and iterators see the transaction's writes over its snapshot, in
// both directions, with deletions hiding keys, and nothing written by others after it began.
func TestTxnReadsItsWrites(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	rng := newRand(testSeed(t))
	want := kv{}
	for i := 0; i < 3000; i++ {
		k, v := fmt.Sprintf("k%04d", rng.IntN(1000)), fmt.Sprintf("v%d", i)
		require.NoError(t, d.Put([]byte(k), []byte(v), nil))
		want[k] = v
	}
	require.NoError(t, d.flushMemTable())
	tx := d.NewTransaction()
	defer tx.Discard()
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("k%04d", rng.IntN(1100))
		require.NoError(t, d.Put([]byte(k), []byte("after"), nil)) // invisible to tx
		if rng.IntN(3) == 0 {
			require.NoError(t, tx.Delete([]byte(k)))
			delete(want, k)
		} else {
			v := fmt.Sprintf("tx%d", i)
			require.NoError(t, tx.Put([]byte(k), []byte(v)))
			want[k] = v
		}
	}
	for i := 0; i < 1100; i += 7 {
		k := fmt.Sprintf("k%04d", i)
		v, ok := txnGet(t, tx, k)
		w, wok := want[k]
		require.Equal(t, wok, ok, k)
		require.Equal(t, w, v, k)
	}
	require.Equal(t, want, txnScan(t, tx, "", "zzz"))
	it := tx.NewIterator(nil)
	back := kv{}
	for ok := it.Last(); ok; ok = it.Prev() {
		back[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Close())
	require.Equal(t, want, back)
}

// TestTxnRules: the small promises of the API.
func TestTxnRules(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{MaxTransactionBytes: 1 << 10})
	defer d.Close()
	t.Run("blind writes never conflict", func(t *testing.T) {
		tx := d.NewTransaction()
		require.NoError(t, tx.Put([]byte("blind"), []byte("1")))
		require.NoError(t, d.Put([]byte("blind"), []byte("2"), nil))
		require.NoError(t, tx.Commit(nil))
	})
	t.Run("read-only transactions commit", func(t *testing.T) {
		tx := d.NewTransaction()
		txnGet(t, tx, "blind")
		require.NoError(t, d.Put([]byte("blind"), []byte("3"), nil))
		require.NoError(t, tx.Commit(nil))
	})
	t.Run("a read of an absent key conflicts with its insert", func(t *testing.T) {
		tx := d.NewTransaction()
		_, ok := txnGet(t, tx, "absent")
		require.False(t, ok)
		require.NoError(t, tx.Put([]byte("other"), []byte("1")))
		require.NoError(t, d.Put([]byte("absent"), []byte("1"), nil))
		require.ErrorIs(t, tx.Commit(nil), ErrConflict)
	})
	t.Run("a key the transaction wrote first is not a read", func(t *testing.T) {
		tx := d.NewTransaction()
		require.NoError(t, tx.Put([]byte("own"), []byte("1")))
		v, _ := txnGet(t, tx, "own")
		require.Equal(t, "1", v)
		require.NoError(t, d.Put([]byte("own"), []byte("2"), nil))
		require.NoError(t, tx.Commit(nil))
	})
	t.Run("too big", func(t *testing.T) {
		tx := d.NewTransaction()
		defer tx.Discard()
		require.NoError(t, tx.Put([]byte("a"), make([]byte, 500)))
		require.ErrorIs(t, tx.Put([]byte("b"), make([]byte, 600)), ErrTxnTooBig)
		require.ErrorIs(t, tx.Delete(make([]byte, 2000)), ErrTxnTooBig)
		require.NoError(t, tx.Commit(nil))
		v, err := d.Get([]byte("a"), nil)
		require.NoError(t, err)
		require.Len(t, v, 500)
		_, err = d.Get([]byte("b"), nil)
		require.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("ended", func(t *testing.T) {
		tx := d.NewTransaction()
		tx.Discard()
		tx.Discard()
		_, err := tx.Get([]byte("a"))
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.ErrorIs(t, tx.Put([]byte("a"), nil), ErrInvalidArgument)
		require.ErrorIs(t, tx.Commit(nil), ErrInvalidArgument)
		require.ErrorIs(t, tx.NewIterator(nil).Error(), ErrInvalidArgument)
	})
	t.Run("view", func(t *testing.T) {
		require.NoError(t, d.View(func(tx *Transaction) error {
			require.ErrorIs(t, tx.Put([]byte("a"), nil), ErrInvalidArgument)
			v, _ := txnGet(t, tx, "own")
			require.Equal(t, "1", v, "the transaction's write came after the plain one")
			return nil
		}))
		boom := errors.New("boom")
		require.ErrorIs(t, d.View(func(*Transaction) error { return boom }), boom)
	})
	t.Run("update returns fn's error and writes nothing", func(t *testing.T) {
		boom := errors.New("boom")
		err := d.Update(func(tx *Transaction) error {
			require.NoError(t, tx.Put([]byte("never"), []byte("1")))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = d.Get([]byte("never"), nil)
		require.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("iterator with a snapshot", func(t *testing.T) {
		tx := d.NewTransaction()
		defer tx.Discard()
		s := d.NewSnapshot()
		defer s.Release()
		require.ErrorIs(t, tx.NewIterator(&ReadOptions{Snapshot: s}).Error(), ErrInvalidArgument)
	})
}

// TestTxnClosedDB: a transaction of a closed DB fails with ErrClosed.
func TestTxnClosedDB(t *testing.T) {
	d := openMem(t, vfs.NewMem(), nil)
	open := d.NewTransaction()
	_, _ = open.Get([]byte("k"))
	require.NoError(t, open.Put([]byte("k"), []byte("v")))
	require.NoError(t, d.Close())
	require.ErrorIs(t, open.Commit(nil), ErrClosed)
	tx := d.NewTransaction()
	_, err := tx.Get([]byte("k"))
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, tx.Put([]byte("k"), []byte("v")))
	require.ErrorIs(t, tx.Commit(nil), ErrClosed)
	tx.Discard()
}

// TestTxnLapsedHistory: with a tiny history bound, writes made while a transaction is open
// push its history out; its commit then checks those writes against the tree: a write to a key
// it read (still in the memtable, or flushed to a table meanwhile) is a conflict, and writes
// elsewhere are not.
func TestTxnLapsedHistory(t *testing.T) {
	for _, flush := range []bool{false, true} {
		for _, touch := range []string{"", "point", "range"} {
			t.Run(fmt.Sprintf("flush=%v/touch=%q", flush, touch), func(t *testing.T) {
				d := openMem(t, vfs.NewMem(), nil)
				defer d.Close()
				d.mu.Lock()
				d.mu.history.limit = 1 << 10
				d.mu.Unlock()
				require.NoError(t, d.Put([]byte("p"), []byte("0"), nil))
				tx := d.NewTransaction()
				txnGet(t, tx, "p")
				txnScan(t, tx, "r/", "r0")
				require.NoError(t, tx.Put([]byte("out"), []byte("1")))
				for i := 0; i < 100; i++ { // 100 groups of 100 bytes: past the bound
					require.NoError(t, d.Put([]byte(fmt.Sprintf("w%03d", i)), make([]byte, 100), nil))
				}
				switch touch {
				case "point":
					require.NoError(t, d.Put([]byte("p"), []byte("1"), nil))
				case "range":
					require.NoError(t, d.Put([]byte("r/x"), []byte("1"), nil))
				}
				for i := 0; i < 20; i++ {
					require.NoError(t, d.Put([]byte(fmt.Sprintf("z%03d", i)), make([]byte, 100), nil))
				}
				if flush {
					require.NoError(t, d.flushMemTable())
				}
				d.mu.Lock()
				lapsed := tx.state.lapsed
				d.mu.Unlock()
				require.True(t, lapsed, "the history bound dropped writes the transaction needs")
				err := tx.Commit(nil)
				if touch == "" {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, ErrConflict)
				}
			})
		}
	}
}

// TestTxnBank: goroutines move random amounts between accounts with Update while others take
// snapshots with View; every snapshot, and the DB after a reopen, holds the same total. Run it
// under -race.
func TestTxnBank(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	const accounts, start = 20, 1000
	for i := 0; i < accounts; i++ {
		require.NoError(t, d.Put(account(i), []byte(strconv.Itoa(start)), nil))
	}
	total := func(tx *Transaction) int {
		sum := 0
		it := tx.NewIterator(&ReadOptions{LowerBound: []byte("acct/"), UpperBound: []byte("acct0")})
		for ok := it.First(); ok; ok = it.Next() {
			n, err := strconv.Atoi(string(it.Value()))
			require.NoError(t, err)
			sum += n
		}
		require.NoError(t, it.Close())
		return sum
	}
	seed := testSeed(t)
	const movers = 4
	deadline := time.Now().Add(time.Duration(sized(300, 300, 3000)) * time.Millisecond)
	var wg sync.WaitGroup
	var mu sync.Mutex
	transfers, conflicts := 0, 0
	for g := 0; g < movers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for time.Now().Before(deadline) {
				from, to, amount := rng.IntN(accounts), rng.IntN(accounts), rng.IntN(50)
				tries := 0
				err := d.Update(func(tx *Transaction) error {
					tries++
					a, err := getInt(tx, account(from))
					if err != nil {
						return err
					}
					b, err := getInt(tx, account(to))
					if err != nil {
						return err
					}
					if from == to || a < amount {
						return nil
					}
					if err := tx.Put(account(from), []byte(strconv.Itoa(a-amount))); err != nil {
						return err
					}
					return tx.Put(account(to), []byte(strconv.Itoa(b+amount)))
				})
				mu.Lock()
				conflicts += tries - 1
				if err == nil {
					transfers++
				}
				mu.Unlock()
				if err != nil && !errors.Is(err, ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	views := 0
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			require.NoError(t, d.View(func(tx *Transaction) error {
				if got := total(tx); got != accounts*start {
					return fmt.Errorf("a snapshot's total is %d, not %d", got, accounts*start)
				}
				return nil
			}))
			views++
		}
	}()
	wg.Wait()
	t.Logf("%d transfers, %d conflicts retried, %d consistent snapshots", transfers, conflicts, views)
	require.Greater(t, transfers, 0)
	require.NoError(t, d.Close())
	d = openMem(t, fs, nil)
	defer d.Close()
	require.NoError(t, d.View(func(tx *Transaction) error {
		require.Equal(t, accounts*start, total(tx))
		return nil
	}))
}

func account(i int) []byte { return []byte(fmt.Sprintf("acct/%03d", i)) }

func getInt(tx *Transaction, key []byte) (int, error) {
	v, err := tx.Get(key)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(v))
}
