package main

import (
	"bytes"
	"strings"

	"github.com/stratadb/strata/sstable"
)

// filterBlock is a table's filter block, decoded and checked by sstable.DecodeFilterBlock.
type filterBlock struct {
	name string // policy name, without sstable.FilterMetaPrefix
	sstable.FilterBlock
	policy sstable.FilterPolicy // nil when sstdump does not know the policy
}

// loadFilter reads the table's filter block, if it has one. It returns nil and no error when the
// table has none.
func loadFilter(t *table) (*filterBlock, error) {
	m, ok := t.filterEntry()
	if !ok {
		return nil, nil
	}
	if m.bad != nil {
		return nil, m.bad
	}
	b, err := t.r.ReadBlock(m.h, "filter block")
	if err != nil {
		return nil, err
	}
	// The filter outlives the RawReader's buffers: the data blocks are read after it.
	fb, err := sstable.DecodeFilterBlock(bytes.Clone(b.Contents), t.name, m.h.Offset)
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(m.name, sstable.FilterMetaPrefix)
	return &filterBlock{name: name, FilterBlock: fb, policy: sstable.BuiltinFilterPolicy(name)}, nil
}
