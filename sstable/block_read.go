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
	raw, err := r.readRawFrom(h, readBuf, dataBlockWhat, mapped)
	if err != nil {
		return nil, err
	}
	if s != nil && !fill && !mapped {
		s.read = raw
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
