//go:build cleveldb

package cleveldb

import "github.com/stratadb/strata/internal/testutil/tablespec"

// TableOptionsFor returns the options that write, and read back, the fixture table s.
func TableOptionsFor(s tablespec.Spec) TableOptions {
	o := TableOptions{
		Compression:     s.Compression,
		BloomBitsPerKey: s.BloomBitsPerKey,
		BlockSize:       s.BlockSize,
		RestartInterval: s.RestartInterval,
		Comparator:      Bytewise,
	}
	if s.InternalKeys {
		o.Comparator = InternalKeys
	}
	return o
}
