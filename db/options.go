package db

import (
	"log/slog"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// Comparator defines the order of keys in a DB; set it in Options.Comparator. The default,
// BytewiseComparator, orders keys as bytes.Compare does, which is what C++ leveldb and goleveldb
// use unless told otherwise.
//
// A DB keeps the order it was created with for ever: every table on disk is sorted by it, and
// the MANIFEST records its Name, so that Open and Repair refuse (with an error matching
// ErrInvalidArgument) to open the DB with a comparator of another name. To change the order,
// copy the keys into a new DB. So an implementation must:
//
//  1. define a total order that never changes: the same two keys always compare the same way,
//     in every process and every version of the program;
//  2. give it a Name that no other order uses, and change the Name if the order ever changes
//     (a C++ leveldb or goleveldb program opening the DB must use a comparator of the same
//     name and order);
//  3. be safe for concurrent use: the DB calls it from many goroutines at once;
//  4. not retain or modify the slices it is given.
//
// Separator and Successor only make index blocks smaller; they never change what is found. An
// implementation that has no better answer returns append(dst, a...), which is always correct.
type Comparator interface {
	// Compare returns a negative number when a sorts before b, zero when they are equal, and a
	// positive number when a sorts after b.
	Compare(a, b []byte) int
	// Name identifies the order, for example "mycompany.TimestampOrder". It is stored in the
	// MANIFEST and checked on every Open. Names starting with "leveldb." are leveldb's.
	Name() string
	// Separator appends to dst a key k, as short as it can find, with a <= k < b in this
	// order, and returns the extended slice. It is called with a < b when a table's index
	// records where one block ends and the next begins. append(dst, a...) is always correct.
	Separator(dst, a, b []byte) []byte
	// Successor appends to dst a key k, as short as it can find, with a <= k in this order, and
	// returns the extended slice. It is called for the last block of a table.
	// append(dst, a...) is always correct.
	Successor(dst, a []byte) []byte
}

// BytewiseComparator is leveldb's default order, named "leveldb.BytewiseComparator": keys
// compare as bytes.Compare compares them (unsigned bytes; a prefix sorts first).
var BytewiseComparator Comparator = keys.Bytewise

// The DB hands Options.Comparator to the internal packages as a keys.Comparator: the two
// interfaces must keep the same methods.
var (
	_ keys.Comparator = Comparator(nil)
	_ Comparator      = keys.Comparator(nil)
)

// Compression selects how table blocks are compressed: the DB writes its tables with the
// sstable setting. Any value but NoCompression means snappy.
type Compression = sstable.Compression

const (
	// DefaultCompression is snappy.
	DefaultCompression = sstable.DefaultCompression
	// NoCompression stores blocks raw.
	NoCompression = sstable.NoCompression
	// SnappyCompression compresses each block with snappy when that saves at least 12.5%.
	SnappyCompression = sstable.SnappyCompression
)

// Options configure a DB. The zero value of every field selects leveldb's default; a nil
// *Options means all defaults.
type Options struct {
	// WriteBufferSize is how many bytes the memtable holds before it is flushed to a table,
	// counted as leveldb counts them (keys, values and a small per-entry overhead), so that a
	// memtable holds as many entries as leveldb's; its memory is up to 1.5 times that. Default
	// 4 MiB.
	WriteBufferSize int
	// BlockCacheSize is the byte budget of the cache of uncompressed table blocks. Default 8 MiB.
	BlockCacheSize int
	// MemoryBudget, when > 0, bounds in one number the memory the DB takes for its memtables,
	// block cache, open tables (their indexes and filters, and the pages of mapped table files)
	// and bulk loaders' buffers (see budget.go). It sizes the parts, a quarter each: the
	// memtables (the write buffer is cut so that three memtable arenas fit: WriteBufferSize at
	// most about MemoryBudget/18); the block cache (or BlockCacheSize when that is set and
	// smaller; what it leaves goes to mapped tables); mapped tables (tables are mapped while
	// their files add up to a quarter, the others read with ReadAt through the block cache);
	// and the open tables' indexes and filters with the loaders' buffers. A NewLoader that does
	// not fit waits, as a write stall of reason StallMemory, or gets smaller buffers when it
	// could never fit. Metrics.Memory reports each part. 0 (the default) bounds nothing: each
	// option as given, every table mapped. At least 16 MiB.
	MemoryBudget int64
	// BlockSize is the target size of a table's data blocks, before compression. Default 4 KiB.
	BlockSize int
	// BloomBitsPerKey sizes the bloom filter of each table. Default 10 (about 1% false
	// positives); negative means no filter.
	BloomBitsPerKey int
	// Compression of table blocks. Default snappy.
	Compression Compression
	// MaxOpenFiles bounds the open files of the DB; tables use all but 10 of them. Default 1000.
	MaxOpenFiles int
	// ErrorIfExists makes Open fail if the DB exists; ErrorIfMissing makes it fail if it does
	// not (instead of creating it).
	ErrorIfExists, ErrorIfMissing bool
	// ParanoidChecks makes recovery stop at the first damaged log record instead of skipping it,
	// and makes every read verify block checksums.
	ParanoidChecks bool
	// Comparator orders keys. Default BytewiseComparator.
	Comparator Comparator

	// MaxFileSize is the size at which compaction starts a new table. Default 2 MiB.
	MaxFileSize int
	// BlockRestartInterval is the number of keys between restart points in a block. Default 16.
	BlockRestartInterval int

	// FS is the filesystem the DB keeps its files in. Default vfs.NewOS(), the operating
	// system's. vfs.NewMem() keeps the DB in memory, and its CrashClone shows what a power loss
	// would leave; vfs.WithFaults injects I/O errors. So a program can test its own crash and
	// disk-full handling without a disk.
	FS vfs.FS

	// ReadOnly opens the DB for reading only. Any number of read-only opens, in this process or
	// others, may share the directory (each holds a shared lock on LOCK, which keeps writers, a
	// read-write Strata or C++ leveldb, out, and is kept out by them: either side's Open fails
	// with an error matching ErrLocked). The open replays the logs into memtables kept in memory
	// (about the memory the writer's memtables took) and writes nothing in the directory: no
	// LOG (the info log goes to Logger, or nowhere), no log, MANIFEST, CURRENT or table, no
	// compaction, no deletion. Put, Delete, Write, WriteContext, CompactRange and
	// CompactRangeContext return an error matching ErrReadOnly; reads, snapshots, Property,
	// ApproximateSizes, Metrics and Checkpoint (which writes only its target) work. A missing
	// directory, or one that holds no DB, gives an error matching os.ErrNotExist and
	// ErrInvalidArgument (ReadOnly never creates one).
	ReadOnly bool

	// EventListener is called on flushes, compactions, table creation and deletion, write
	// stalls, background errors and damage recovery skipped. Nil means no calls.
	EventListener *EventListener

	// MaxTransactionBytes bounds the writes a Transaction buffers, counted as their encoded
	// batch size (keys, values and a few bytes each); past it Put and Delete return
	// ErrTxnTooBig. Default 64 MiB.
	MaxTransactionBytes int

	// Logger receives the DB's informational messages (opens, flushes, compactions, errors).
	// Nil means leveldb's default: a LOG file in the DB's directory (LOG.old keeps the previous
	// one). With a Logger set, no LOG file is written.
	Logger *slog.Logger
}

// WriteOptions control a write.
type WriteOptions struct {
	// Sync makes the write durable before it returns: the log is fsynced. Without it the write has
	// been handed to the operating system and survives a crash of the process, not of the machine.
	Sync bool
}

// ReadOptions control a read.
type ReadOptions struct {
	// Snapshot reads the DB as of the snapshot; nil reads the latest state.
	Snapshot *Snapshot
	// VerifyChecksums verifies the checksum of every block read, even blocks already verified.
	VerifyChecksums bool
	// DontFillCache keeps the blocks this read loads out of the block cache (for scans).
	DontFillCache bool
	// LowerBound and UpperBound limit an iterator to keys in [LowerBound, UpperBound); nil means
	// unbounded.
	LowerBound, UpperBound []byte
}

// Defaults, as leveldb 1.23 has them.
const (
	defaultWriteBufferSize = 4 << 20
	defaultBlockCacheSize  = 8 << 20
	defaultBlockSize       = 4 << 10
	defaultBloomBits       = 10
	defaultMaxOpenFiles    = 1000
	defaultMaxFileSize     = 2 << 20
	defaultRestartInterval = 16
	// defaultMaxTransactionBytes bounds a transaction's buffered writes (Strata's; leveldb has no
	// transactions).
	defaultMaxTransactionBytes = 64 << 20
	// reservedFiles are the descriptors MaxOpenFiles keeps back for logs, the MANIFEST, LOCK and
	// LOG: leveldb reserves the same number.
	reservedFiles = 10
	minOpenFiles  = 20
)

// budgetWriteBuffer returns the largest write buffer whose three memtables (memFootprint: an
// arena of memCapacity and a hash index of a sixteenth of it) fit in a quarter of budget:
// 1.5w + 2*min(1 MiB, w) <= budget/12 * 16/17; at least 64 KiB.
func budgetWriteBuffer(budget int64) int {
	room := budget / 51 * 4
	w := room * 2 / 7 // w <= 1 MiB: 3.5w <= room
	if room >= 7<<20/2 {
		w = (room - 2*maxGroupBytes) * 2 / 3
	}
	return int(min(max(w, 64<<10), 1<<30))
}

// budgetPart returns budget/div as an int, at most the largest int.
func budgetPart(budget int64, div int64) int {
	return int(min(budget/div, int64(^uint(0)>>1)))
}

// sanitize returns a copy of o with defaults filled in and values clamped to leveldb's ranges.
func (o *Options) sanitize() Options {
	var s Options
	if o != nil {
		s = *o
	}
	if s.WriteBufferSize <= 0 {
		s.WriteBufferSize = defaultWriteBufferSize
	}
	s.WriteBufferSize = clamp(s.WriteBufferSize, 64<<10, 1<<30)
	if s.BlockCacheSize == 0 {
		s.BlockCacheSize = defaultBlockCacheSize
	}
	if s.BlockSize <= 0 {
		s.BlockSize = defaultBlockSize
	}
	s.BlockSize = clamp(s.BlockSize, 1<<10, 4<<20)
	if s.BloomBitsPerKey == 0 {
		s.BloomBitsPerKey = defaultBloomBits
	}
	if s.MaxOpenFiles <= 0 {
		s.MaxOpenFiles = defaultMaxOpenFiles
	}
	s.MaxOpenFiles = clamp(s.MaxOpenFiles, minOpenFiles, 50000)
	if s.MaxFileSize <= 0 {
		s.MaxFileSize = defaultMaxFileSize
	}
	s.MaxFileSize = clamp(s.MaxFileSize, 1<<20, 1<<30)
	if s.BlockRestartInterval <= 0 {
		s.BlockRestartInterval = defaultRestartInterval
	}
	if s.Comparator == nil {
		s.Comparator = BytewiseComparator
	}
	if s.MemoryBudget > 0 {
		s.MemoryBudget = max(s.MemoryBudget, minMemoryBudget)
		s.WriteBufferSize = clamp(s.WriteBufferSize, 64<<10, budgetWriteBuffer(s.MemoryBudget))
		quarter := budgetPart(s.MemoryBudget, 4)
		if o == nil || o.BlockCacheSize == 0 {
			s.BlockCacheSize = quarter
		} else if s.BlockCacheSize > 0 {
			s.BlockCacheSize = min(s.BlockCacheSize, quarter)
		}
	}
	if s.MaxTransactionBytes <= 0 {
		s.MaxTransactionBytes = defaultMaxTransactionBytes
	}
	if s.FS == nil {
		s.FS = vfs.NewOS()
	}
	return s
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }
