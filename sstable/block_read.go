package sstable

// Reading a data block, in order (steps 1 to 4 are tableFile's, in table_file.go, shared with
// RawReader and with the index, metaindex and filter blocks that Open reads):
//  1. The handle is checked against the file: the block and its trailer must end before the
//     footer. A lying handle is corruption, found before anything is read or allocated.
//  2. The bytes are taken from the mapping or read with ReadAt into a buffer of the handle's
//     size (bounded by the file's size).
//  3. The masked crc32c in the trailer is checked against the contents and the type byte.
//  4. The contents are decompressed: a snappy block's claimed length is checked against
//     maxSnappyRatio before the output buffer is allocated.
//  5. The block's structure (restart array, entry lengths, key order) is validated once per
//     Reader and block; a bitmap over the index entries records which blocks passed.
//
// Data blocks that are uncompressed in a mapped file are served straight from the mapping
// (unless ReadOptions.Unmapped, which reads every block as from an unmapped file);
// steps 3 and 5 then run on first use and step 3 again only with ReadOptions.VerifyChecksums.
// Every other data block comes from the cache when it is there, and otherwise goes through all
// steps and, unless DontFillCache, into the cache.

// blockScratch holds an iterator's reusable buffers for blocks that are not cached; the
// iterator overwrites them when it moves to another block.
type blockScratch struct {
	read []byte
	dec  []byte

	// The read-ahead window of a file read with ReadAt (see readAhead): win holds the file's
	// bytes from winOff, read for winOf. next is the offset past the last block read, and
	// ahead the window's size for the next sequential read (0: none yet).
	win    []byte
	winOff uint64
	winOf  *Reader
	next   uint64
	ahead  int
	// aheadMax bounds the window: maxReadAhead when 0.
	aheadMax int
}

// Read-ahead. Each data block read with ReadAt costs a system call, a few microseconds on
// virtual machines, more than decoding the block. A reader that goes through a table's blocks
// in order (a scan that does not fill the cache, a compaction's input, a batched lookup dense
// enough to visit block after block) reads them instead in windows of several blocks: the
// first read of a block right after (or near after) the previous one reads twice the block,
// and each window that follows is twice the last, up to maxReadAhead for iterators (a
// compaction has one per input, and their windows count in the process's memory: 256 KiB each
// added 5 MB to the peak of a 1M-key fillrandom) and maxGetterReadAhead for a Getter (one per
// table a batch is reading). A read elsewhere reads just its block and starts over. Verifying
// 100,000,000 names with HasMany, the pread calls of single blocks were a sixth of the CPU
// time.
const (
	maxReadAhead       = 32 << 10
	maxGetterReadAhead = 256 << 10
)

// readAhead returns the raw block at h (contents and trailer) of r, which is read with ReadAt,
// from s's window or through a new read, which may fill a new window. The result is valid
// until the next read through s.
func (r *Reader) readAhead(h BlockHandle, s *blockScratch) ([]byte, error) {
	n := h.Size + BlockTrailerLen
	if s.winOf == r && h.Offset >= s.winOff && h.Offset+n <= s.winOff+uint64(len(s.win)) {
		lo := h.Offset - s.winOff
		s.next = h.Offset + n
		return s.win[lo : lo+n : lo+n], nil
	}
	// Sequential: the block starts at or a little past the end of the last one read (blocks
	// that the filter ruled out are skipped).
	seq := s.winOf == r && h.Offset >= s.next && h.Offset-s.next <= uint64(max(s.ahead, int(n)))
	s.winOf = r
	if !seq {
		s.ahead = 0
		s.win = s.win[:0]
		raw, err := r.readRawFrom(h, s.read, dataBlockWhat, false)
		if err == nil {
			s.read = raw
			s.next = h.Offset + n
		}
		return raw, err
	}
	limit := s.aheadMax
	if limit == 0 {
		limit = maxReadAhead
	}
	s.ahead = min(max(2*s.ahead, 2*int(n)), limit)
	size := max(uint64(s.ahead), n)
	if end := r.size - FooterLen; h.Offset+size > end {
		size = end - h.Offset // checkHandle made sure the block ends before the footer
	}
	win, err := r.readAtFrom(h.Offset, size, s.win, dataBlockWhat, false)
	if err != nil {
		s.win = s.win[:0]
		return nil, err
	}
	s.win, s.winOff, s.next = win, h.Offset, h.Offset+n
	return win[:n:n], nil
}

// dataBlockWhat is what errors about a data block call it.
const dataBlockWhat = "data block"

func (r *Reader) isChecked(i int) bool {
	return r.checked[i/32].Load()&(1<<(i%32)) != 0
}

func (r *Reader) setChecked(i int) { r.checked[i/32].Or(1 << (i % 32)) }

// checkOnce validates the structure of data block i the first time this Reader uses it.
func (r *Reader) checkOnce(i int, contents []byte, h BlockHandle) error {
	if r.isChecked(i) {
		return nil
	}
	p, _ := r.kbufPool.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	_, kbuf, err := checkBlock(contents, &r.ord, r.name, h.Offset, *p)
	*p = kbuf
	r.kbufPool.Put(p)
	if err != nil {
		return err
	}
	r.setChecked(i)
	return nil
}

// dataBlock returns the contents of data block i (the i'th index entry, handle h), verified.
// With s == nil the result is fresh memory, the cache or the mapping, safe to hand out for the
// Reader's life; with s != nil a block that is not cached may live in s's buffers.
func (r *Reader) dataBlock(i int, h BlockHandle, ro ReadOptions, s *blockScratch) ([]byte, error) {
	mapped := r.mapped != nil && !ro.Unmapped
	if mapped {
		raw := r.mapped[h.Offset : h.Offset+h.Size+BlockTrailerLen]
		if raw[h.Size] == typeNone {
			first := !r.isChecked(i)
			if first || ro.VerifyChecksums {
				if err := r.verifyChecksum(raw, h, dataBlockWhat); err != nil {
					return nil, err
				}
			}
			contents := raw[:h.Size:h.Size]
			if first {
				if err := r.checkOnce(i, contents, h); err != nil {
					return nil, err
				}
			}
			return contents, nil
		}
	}
	if r.cache != nil {
		if b, ok := r.cache.Get(r.fileNum, h.Offset); ok {
			return b, nil
		}
	}
	fill := r.cache != nil && !ro.DontFillCache
	var readBuf, decBuf []byte
	if s != nil && !fill {
		readBuf, decBuf = s.read, s.dec
	}
	var raw []byte
	var err error
	if s != nil && !fill && !mapped {
		raw, err = r.readAhead(h, s)
	} else {
		raw, err = r.readRawFrom(h, readBuf, dataBlockWhat, mapped)
	}
	if err != nil {
		return nil, err
	}
	if err := r.verifyChecksum(raw, h, dataBlockWhat); err != nil {
		return nil, err
	}
	contents, err := r.decompress(raw, h, decBuf, dataBlockWhat)
	if err != nil {
		return nil, err
	}
	if s != nil && !fill && raw[h.Size] != typeNone {
		s.dec = contents
	}
	if err := r.checkOnce(i, contents, h); err != nil {
		return nil, err
	}
	if fill {
		r.cache.Set(r.fileNum, h.Offset, contents)
	}
	return contents, nil
}
