package engine

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // the "sqlite" driver: SQLite compiled to Go, no cgo
)

func init() {
	register(&Engine{
		Name:    "sqlite",
		Title:   "SQLite",
		Version: moduleVersion("modernc.org/sqlite"),
		Open:    openSqlite,
		// Out of "all": a B+tree, compared with Strata in a table of its own.
		NamedOnly: true,
	})
}

// The statements, each prepared once per connection. REPLACE overwrites a key's row; the
// iterator's queries walk the primary key's B-tree in either direction from a bound.
const (
	sqliteSchema    = `CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID`
	sqlitePut       = `INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)`
	sqliteDelete    = `DELETE FROM kv WHERE key = ?`
	sqliteGet       = `SELECT value FROM kv WHERE key = ?`
	sqliteFirst     = `SELECT key, value FROM kv ORDER BY key`
	sqliteLast      = `SELECT key, value FROM kv ORDER BY key DESC`
	sqliteAtOrAfter = `SELECT key, value FROM kv WHERE key >= ? ORDER BY key`
	sqliteAfter     = `SELECT key, value FROM kv WHERE key > ? ORDER BY key`
	sqliteBefore    = `SELECT key, value FROM kv WHERE key < ? ORDER BY key DESC`
)

type sqliteDB struct {
	path string
	// w is the one connection that writes (a pool of one); r is a pool of readers for Get and
	// iterators, which in WAL mode read a snapshot while w writes.
	w, r *sql.DB

	put, del                                   *sql.Stmt // on w
	get, first, last, atOrAfter, after, before *sql.Stmt // on r

	// mu is held by every write, so that the synchronous setting of w's connection is the one
	// the write asks for until it commits.
	mu struct {
		sync.Mutex
		synced bool // w runs with synchronous=FULL, not OFF
	}
}

// openSqlite opens (or creates) dir/sqlite.db with one table, kv(key BLOB PRIMARY KEY, value
// BLOB) WITHOUT ROWID, so the rows live in the primary key's B-tree, sorted by key as the
// LSM engines' tables; the journal is a write-ahead log (journal_mode=WAL). Settings map so:
//   - BlockSize is the page size (4 KiB, SQLite's default too), set before the file is made.
//   - BlockCacheSize is every connection's page cache (cache_size); SQLite has no cache shared
//     by its connections, so the writer and each reader have 8 MiB of their own.
//   - WriteBufferSize bounds the log: SQLite checkpoints it into the database file when it
//     passes that many bytes of pages (wal_autocheckpoint 1024 pages; SQLite's default 1000).
//
// What could not be matched: no compression and no bloom filter; one file and its log, so no
// open-file limit and no table size. A synced write commits with synchronous=FULL (the log is
// fsynced at every commit), an unsynced one with synchronous=OFF (never); see write.
func openSqlite(dir string, s Settings) (_ DB, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "sqlite.db")
	pageSize := s.BlockSize
	if pageSize <= 0 {
		pageSize = 4096
	}
	// Per-connection settings go in the DSN, so that a connection the pool opens has them; a
	// negative cache_size is in KiB.
	conn := fmt.Sprintf("file:%s?_pragma=busy_timeout(10000)&_pragma=cache_size(%d)", path, -(s.BlockCacheSize >> 10))
	writer := fmt.Sprintf("&_pragma=synchronous(OFF)&_pragma=wal_autocheckpoint(%d)&_txlock=immediate",
		max(s.WriteBufferSize/pageSize, 1))
	d := &sqliteDB{path: path}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.w, err = sql.Open("sqlite", conn+writer); err != nil {
		return nil, err
	}
	d.w.SetMaxOpenConns(1)
	for _, stmt := range []string{
		fmt.Sprintf("PRAGMA page_size = %d", pageSize), // before anything creates the file
		"PRAGMA journal_mode = WAL",
		sqliteSchema,
	} {
		if _, err := d.w.Exec(stmt); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", stmt, err)
		}
	}
	if d.r, err = sql.Open("sqlite", conn+"&_pragma=query_only(1)"); err != nil {
		return nil, err
	}
	d.r.SetMaxIdleConns(8)
	for _, p := range []struct {
		db    *sql.DB
		query string
		stmt  **sql.Stmt
	}{
		{d.w, sqlitePut, &d.put}, {d.w, sqliteDelete, &d.del},
		{d.r, sqliteGet, &d.get}, {d.r, sqliteFirst, &d.first}, {d.r, sqliteLast, &d.last},
		{d.r, sqliteAtOrAfter, &d.atOrAfter}, {d.r, sqliteAfter, &d.after}, {d.r, sqliteBefore, &d.before},
	} {
		if *p.stmt, err = p.db.Prepare(p.query); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", p.query, err)
		}
	}
	return d, nil
}

// nonNil turns nil into an empty slice: the driver binds nil as NULL, which the primary key
// refuses and Get could not tell from an empty value.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (d *sqliteDB) Put(key, value []byte, sync bool) error {
	return d.write(sync, func() error {
		_, err := d.put.Exec(nonNil(key), nonNil(value))
		return err
	})
}

func (d *sqliteDB) Delete(key []byte, sync bool) error {
	return d.write(sync, func() error {
		_, err := d.del.Exec(nonNil(key))
		return err
	})
}

// write runs fn, a write on w, under mu, after setting w's synchronous to FULL for a synced
// write or OFF for an unsynced one if it is not so already (a PRAGMA on the one writing
// connection, issued only when the setting changes, so a run of writes of one kind pays for it
// once). The writes are serialized here, as SQLite allows one writer at a time anyway. A single
// statement outside BEGIN is its own transaction: a Put or Delete commits on its own.
func (d *sqliteDB) write(sync bool, fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.synced != sync {
		mode := "OFF"
		if sync {
			mode = "FULL"
		}
		if _, err := d.w.Exec("PRAGMA synchronous = " + mode); err != nil {
			return err
		}
		d.mu.synced = sync
	}
	return fn()
}

func (d *sqliteDB) Get(key []byte) ([]byte, bool, error) {
	var v []byte
	err := d.get.QueryRow(nonNil(key)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return nonNil(v), true, nil
}

func (d *sqliteDB) NewBatch() Batch { return &opBatch{} }

// Write applies the batch in one transaction (BEGIN IMMEDIATE ... COMMIT), with the prepared
// statements; a batch of one entry is a single statement, its own transaction.
func (d *sqliteDB) Write(b Batch, sync bool) error {
	ob := b.(*opBatch)
	if ob.Len() <= 1 {
		return d.write(sync, func() error {
			return ob.each(
				func(k, v []byte) error { _, err := d.put.Exec(nonNil(k), nonNil(v)); return err },
				func(k []byte) error { _, err := d.del.Exec(nonNil(k)); return err })
		})
	}
	return d.write(sync, func() error {
		tx, err := d.w.Begin()
		if err != nil {
			return err
		}
		put, del := tx.Stmt(d.put), tx.Stmt(d.del)
		err = ob.each(
			func(k, v []byte) error { _, err := put.Exec(nonNil(k), nonNil(v)); return err },
			func(k []byte) error { _, err := del.Exec(nonNil(k)); return err })
		if err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// NewIterator begins a read transaction on a connection of its own, which the iterator keeps
// until Close; SQLite takes its snapshot at the first query.
func (d *sqliteDB) NewIterator() (Iterator, error) {
	tx, err := d.r.Begin()
	if err != nil {
		return nil, err
	}
	return &sqliteIter{d: d, tx: tx}, nil
}

// CompactAll runs VACUUM, which rebuilds the database file without its free pages and with
// its B-tree pages in order, then checkpoints the log into the file and truncates it: SQLite's
// counterpart of a full compaction. Writes wait for it.
func (d *sqliteDB) CompactAll() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, stmt := range []string{"VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := d.w.Exec(stmt); err != nil {
			return fmt.Errorf("sqlite: %s: %w", stmt, err)
		}
	}
	return nil
}

// TableBytes is the size of the database file plus its log's: between checkpoints the log
// holds the newest version of the pages written since the last one.
func (d *sqliteDB) TableBytes() (int64, error) {
	var total int64
	for _, p := range []string{d.path, d.path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// Close closes the readers, then the writer, the last connection, which checkpoints the log
// into the database file and deletes it.
func (d *sqliteDB) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{d.put, d.del, d.get, d.first, d.last, d.atOrAfter, d.after, d.before} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	for _, db := range []*sql.DB{d.r, d.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// sqliteIter walks kv with one query at a time, in its read transaction: First, Last and Seek
// start a query; Next and Prev step it while it runs their way, and start a new one from the
// current key when it runs the other way (key > current ascending, key < current descending)
// or has ended. Key is a copy and Value the driver's own slice, both valid until the next move.
type sqliteIter struct {
	d     *sqliteDB
	tx    *sql.Tx
	rows  *sql.Rows // the running query; nil when none runs
	desc  bool      // rows runs in descending key order
	key   []byte
	value sql.RawBytes
	valid bool
	err   error
}

func (i *sqliteIter) First() bool          { return i.query(i.d.first, false) }
func (i *sqliteIter) Last() bool           { return i.query(i.d.last, true) }
func (i *sqliteIter) Seek(key []byte) bool { return i.query(i.d.atOrAfter, false, nonNil(key)) }

func (i *sqliteIter) Next() bool {
	if !i.valid {
		return false
	}
	if i.rows == nil || i.desc {
		return i.query(i.d.after, false, i.key)
	}
	return i.step()
}

func (i *sqliteIter) Prev() bool {
	if !i.valid {
		return false
	}
	if i.rows == nil || !i.desc {
		return i.query(i.d.before, true, i.key)
	}
	return i.step()
}

// query ends the running query and starts stmt with args in the transaction, and moves to its
// first row.
func (i *sqliteIter) query(stmt *sql.Stmt, desc bool, args ...any) bool {
	if i.err != nil {
		return false
	}
	// args may hold i.key: the driver copies its arguments when it binds them.
	rows, err := i.tx.Stmt(stmt).Query(args...)
	i.closeRows()
	if err != nil {
		i.err, i.valid = err, false
		return false
	}
	i.rows, i.desc = rows, desc
	return i.step()
}

// step moves to the next row of the running query.
func (i *sqliteIter) step() bool {
	if !i.rows.Next() {
		i.err = i.rows.Err()
		i.closeRows()
		i.valid = false
		return false
	}
	var k sql.RawBytes
	if err := i.rows.Scan(&k, &i.value); err != nil {
		i.err = err
		i.closeRows()
		i.valid = false
		return false
	}
	i.key = append(i.key[:0], k...)
	i.value = nonNil(i.value)
	i.valid = true
	return true
}

func (i *sqliteIter) closeRows() {
	if i.rows != nil {
		if err := i.rows.Close(); err != nil && i.err == nil {
			i.err = err
		}
		i.rows = nil
	}
}

func (i *sqliteIter) Valid() bool   { return i.valid }
func (i *sqliteIter) Key() []byte   { return i.key }
func (i *sqliteIter) Value() []byte { return i.value }
func (i *sqliteIter) Error() error  { return i.err }

// Close ends the query and the read transaction.
func (i *sqliteIter) Close() error {
	i.closeRows()
	i.valid = false
	if err := i.tx.Rollback(); err != nil && i.err == nil {
		i.err = err
	}
	return i.err
}
