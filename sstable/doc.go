// Package sstable reads and writes tables: the immutable, sorted files that every memtable
// flush and compaction writes and every read below the memtables serves from. The format is
// leveldb 1.23's, byte for byte; docs/format/table.md specifies it, and each file here that
// encodes a structure repeats its grammar at the top.
//
// A table is a run of data blocks, an optional filter block, a metaindex block, an index block
// and a 48-byte footer:
//
//	table := data_block* filter_block? metaindex_block index_block footer
//
// A Writer builds one from keys in increasing order; Open returns a Reader that answers point
// lookups (Get: the index, held in memory, names the one data block that can hold the key; that
// block's filter, then the block), answers sorted batches of them (a Getter: the same answers,
// moving only forward, so each block is read once per batch), iterates in both directions
// (NewIterator: a two-level iterator over the index and one data block at a time) and
// estimates offsets (ApproximateOffsetOf). Tables know keys only as bytes ordered by a
// keys.Comparator. DB tables hold internal keys ordered by keys.InternalComparator, and their
// filters hold user keys: the DB passes keys.UserKey as the FilterKey of both the Writer and
// the Reader.
//
// Tools that must read a table whose comparator they do not know use NewRawReader instead: a
// RawReader reads the footer and any block with the checks the format alone defines, and
// RawBlock.Walk, DecodeBlockHandle and DecodeFilterBlock decode what it reads, with the same
// code and messages as Reader.
//
// Invariants:
//  1. Keys in a table strictly increase under its comparator; the Writer refuses anything else
//     and stays usable.
//  2. Index key i is >= every key of data block i and < every key of block i+1 (a shortened
//     separator); the last index key is >= the table's last key (a short successor).
//  3. Every byte a Reader acts on has passed a check first: the footer's magic, every handle
//     against the file's size, the checksum of the index, metaindex and filter blocks at Open,
//     the checksum and the structure of every data block on its first use, and the checksum
//     again on each use when ReadOptions.VerifyChecksums asks. A check that fails is a
//     *dberr.CorruptionError naming the file and the block's offset; nothing panics and nothing
//     allocates more than the file's size because a length said so.
//  4. Blocks are never recycled while something may still see them: blocks that Get returns
//     slices of are the mapping, cached memory or fresh memory. Only an Iterator or a Getter
//     reuses its own buffers, for blocks it does not cache, and only when it moves to another
//     block; and a RawReader reuses its own at its next ReadBlock, as its contract says.
//
// Concurrency: a Writer belongs to one goroutine. A Reader is safe for concurrent use (Get,
// NewIterator, ApproximateOffsetOf, Layout, ReadBlock) until Close, which must wait until no
// call, Iterator or Getter is using it; its only mutable state is an atomic bitmap of checked
// blocks and a pool of scratch buffers. An Iterator, a Getter and a RawReader each belong to
// one goroutine. A BlockCache is shared by all Readers of a DB and must be safe for concurrent
// use.
package sstable
