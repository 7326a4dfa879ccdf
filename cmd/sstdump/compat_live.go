package main

import (
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/sstable"
)

// leveldbFilterMeta is the metaindex key of the only meta block leveldb 1.23 reads: its bloom
// filter's, which it uses when the program opens the DB with that filter policy.
const leveldbFilterMeta = sstable.FilterMetaPrefix + sstable.BloomFilterName

// checkLiveFiles checks the live tables and logs, with db --check's list of them (a table the
// MANIFEST names that is not on disk is reported there: leveldb refuses to open a DB with
// missing files), and notes the files the MANIFEST does not reference unless the MANIFEST is
// damaged. It returns only output errors.
func (c *compatChecker) checkLiveFiles() error {
	e := c.e
	dc := &dbChecker{e: e, dir: c.dir, manifest: c.manifest, s: c.s, disk: c.disk, liveLog: c.s.liveLog, emit: c.emit}
	items, _ := dc.liveItems()
	err := dc.walkLive(items, func(it liveItem) error {
		if it.meta != nil {
			c.tables++
			c.checkTable(dc, it)
		} else {
			c.logs++
			if err := c.checkLog(it.item); err != nil {
				return err
			}
		}
		return e.out.err()
	})
	if err != nil {
		return err
	}
	if !c.badManifest {
		// Which files leveldb deletes when it opens the DB; it opens none with a damaged MANIFEST.
		dc.unreferenced()
	}
	return e.out.err()
}

// checkTable checks a live table as leveldb 1.23 reads it: through the size the MANIFEST
// records (leveldb opens a table with that size, so it reads a longer file's first part, and
// fails on a shorter one), then with check's walk over every block (checkTable: footer, index,
// checksums, compression types, block structure, key order when it is bytewise, the bloom
// filter), then its first and last keys against the MANIFEST's.
func (c *compatChecker) checkTable(dc *dbChecker, it liveItem) {
	e, path := c.e, it.item.path
	size := it.item.size
	recorded := int64(min(it.meta.Size, 1<<62))
	switch {
	case size < recorded:
		c.problem(path, "%d bytes, but the MANIFEST records %d: cut short, leveldb 1.23 cannot read it", size, recorded)
		e.prog.add(size)
		return
	case size > recorded:
		c.note(path, "%d bytes, but the MANIFEST records %d: leveldb 1.23 reads the first %d, the table it recorded", size, recorded, recorded)
	}
	f, _, err := openFile(e, path)
	if err != nil {
		c.unreadableFile(path, err)
		return
	}
	defer f.Close()
	r := &reporter{path: path, emit: c.emit}
	t, err := openTable(f, path, recorded)
	if err != nil {
		if !isCorruption(err) {
			c.unreadableFile(path, err)
			return
		}
		r.report(err)
		e.prog.add(size)
		return
	}
	t.internal = true
	noteIgnoredMeta(t, r)
	st := checkTable(t, tableCheckOptions{order: !it.item.noOrder}, r, e.prog)
	r.flushSuppressed()
	if st.badBlocks == 0 {
		dc.checkRange(it, checkResult{first: st.first, last: st.last})
	}
}

// noteIgnoredMeta notes each meta block of t that leveldb 1.23 ignores (every one but its
// bloom filter: another policy's filter, goleveldb's older name for the same filter, a
// properties block) and takes it out of t.meta, so that the table is checked as leveldb reads
// it.
func noteIgnoredMeta(t *table, r *reporter) {
	kept := t.meta[:0]
	for _, m := range t.meta {
		if m.name == leveldbFilterMeta {
			kept = append(kept, m)
			continue
		}
		r.note(dberr.NoOffset, "meta block %q: leveldb 1.23 ignores it (the only one it reads is %q); reads work without it",
			m.name, leveldbFilterMeta)
	}
	t.meta = kept
}

// checkLog checks a log leveldb replays when it opens the DB: every record's framing and
// checksum, and every WriteBatch (check's checkLog). A torn tail is a note: leveldb ignores it,
// as Strata does. It returns only output errors.
func (c *compatChecker) checkLog(it checkItem) error {
	f, _, err := openFile(c.e, it.path)
	if err != nil {
		c.unreadableFile(it.path, err)
		return nil
	}
	defer f.Close()
	r := &reporter{path: it.path, emit: c.emit}
	_, err = checkLog(c.e, f, it.path, r)
	r.flushSuppressed()
	if err != nil {
		if isOutputError(err) {
			return err
		}
		c.unreadableFile(it.path, err)
	}
	return nil
}
