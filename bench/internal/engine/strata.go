package engine

import (
	"errors"
	"regexp"
	"strconv"

	"github.com/stratadb/strata/db"
)

func init() {
	register(&Engine{
		Name:    "strata",
		Title:   "Strata",
		Version: "(this checkout)",
		Open:    openStrata,
	})
}

type strataDB struct {
	d      *db.DB
	mapped int64 // strata.mapped-log-bytes at Close
}

func openStrata(dir string, s Settings) (DB, error) {
	o := &db.Options{
		WriteBufferSize: s.WriteBufferSize,
		BlockCacheSize:  s.BlockCacheSize,
		BlockSize:       s.BlockSize,
		BloomBitsPerKey: s.BloomBitsPerKey,
		Compression:     db.SnappyCompression,
		MaxOpenFiles:    s.MaxOpenFiles,
		MaxFileSize:     s.MaxFileSize,
	}
	if s.BloomBitsPerKey <= 0 {
		o.BloomBitsPerKey = -1 // Strata's 0 is the default, 10
	}
	if !s.Compression {
		o.Compression = db.NoCompression
	}
	d, err := db.Open(dir, o)
	if err != nil {
		return nil, err
	}
	return &strataDB{d: d}, nil
}

var strataWO = writeOptions[db.WriteOptions]{noSync: &db.WriteOptions{}, sync: &db.WriteOptions{Sync: true}}

func (s *strataDB) Put(key, value []byte, sync bool) error {
	return s.d.Put(key, value, strataWO.pick(sync))
}

func (s *strataDB) Delete(key []byte, sync bool) error { return s.d.Delete(key, strataWO.pick(sync)) }

func (s *strataDB) Get(key []byte) ([]byte, bool, error) {
	v, err := s.d.Get(key, nil)
	if errors.Is(err, db.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (s *strataDB) NewBatch() Batch { return &db.Batch{} }

func (s *strataDB) Write(b Batch, sync bool) error {
	return s.d.Write(b.(*db.Batch), strataWO.pick(sync))
}

// Update runs fn through DB.Update, which runs it again after a conflict (up to 20 times, with
// short random pauses after the third), and calls DB.Update again while it returns
// db.ErrConflict. The conflicts are the runs of fn that did not commit.
func (s *strataDB) Update(fn func(tx Txn) error) (conflicts int, err error) {
	runs := 0
	body := func(tx *db.Transaction) error {
		runs++
		return fn(strataTxn{tx})
	}
	for {
		err = s.d.Update(body)
		if !errors.Is(err, db.ErrConflict) {
			return runs - 1, err
		}
	}
}

type strataTxn struct{ tx *db.Transaction }

func (t strataTxn) Get(key []byte) ([]byte, bool, error) {
	v, err := t.tx.Get(key)
	if errors.Is(err, db.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (t strataTxn) Put(key, value []byte) error { return t.tx.Put(key, value) }

func (s *strataDB) NewIterator() (Iterator, error) {
	it := s.d.NewIterator(nil)
	if err := it.Error(); err != nil {
		it.Close()
		return nil, err
	}
	return it, nil
}

func (s *strataDB) CompactAll() error { return s.d.CompactRange(nil, nil) }

// strataLevelBytes matches the per-level lines of leveldb.sstables: "L1: 5 files, 10485760 bytes".
var strataLevelBytes = regexp.MustCompile(`(?m)^L\d+: \d+ files?, (\d+) bytes$`)

func (s *strataDB) TableBytes() (int64, error) {
	p, ok := s.d.Property("leveldb.sstables")
	if !ok {
		return 0, errors.New("strata: no leveldb.sstables property")
	}
	return sumMatches(strataLevelBytes, p)
}

func (s *strataDB) Close() error {
	s.mapped = s.MappedBytes()
	return s.d.Close()
}

// MappedBytes returns the bytes Strata wrote to its logs through their mappings (the
// strata.mapped-log-bytes property); after Close, the count at Close.
func (s *strataDB) MappedBytes() int64 {
	v, ok := s.d.Property("strata.mapped-log-bytes")
	if !ok {
		return s.mapped
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// sumMatches adds up the first submatch of every match of re in text.
func sumMatches(re *regexp.Regexp, text string) (int64, error) {
	var total int64
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
