package db

// The option sets of the metamorphic test: what varies between the runs of one sequence of
// operations, drawn from the seed, with a text form ("blocksize=4096 restart=16 ...") that
// failures print and files of operations carry; and the comparators a sequence runs under.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// metaOptions is one option set: the DB's table, memtable, cache and file options, and the
// read options every read of the run uses.
type metaOptions struct {
	BlockSize       int
	RestartInterval int
	Snappy          bool
	BloomBits       int // negative: no filter
	WriteBuffer     int
	FileSize        int
	OpenFiles       int
	CacheSize       int
	Paranoid        bool
	Verify          bool // ReadOptions.VerifyChecksums
	NoFill          bool // ReadOptions.DontFillCache
}

// randMetaOptions draws an option set: sizes from the bottom of each range most often, where
// the tree has the most blocks, tables, restarts and flushes for the data a sequence writes.
func randMetaOptions(rng *rand.Rand) metaOptions {
	pick := func(xs ...int) int { return xs[rng.IntN(len(xs))] }
	return metaOptions{
		BlockSize:       pick(1<<10, 1<<10, 2<<10, 4<<10, 16<<10, 64<<10),
		RestartInterval: pick(1, 1, 2, 3, 4, 8, 16, 16, 32),
		Snappy:          rng.IntN(2) == 0,
		BloomBits:       pick(-1, -1, 1, 4, 10, 20),
		WriteBuffer:     pick(64<<10, 64<<10, 100<<10, 256<<10, 1<<20, 8<<20),
		FileSize:        pick(1<<20, 1<<20, 2<<20, 8<<20),
		OpenFiles:       pick(20, 20, 30, 100, 1000),
		CacheSize:       pick(-1, 32<<10, 256<<10, 8<<20),
		Paranoid:        rng.IntN(2) == 0,
		Verify:          rng.IntN(4) == 0,
		NoFill:          rng.IntN(4) == 0,
	}
}

// options returns the DB options of the set, with cmp (nil: bytewise).
func (o metaOptions) options(cmp Comparator) Options {
	c := NoCompression
	if o.Snappy {
		c = SnappyCompression
	}
	return Options{
		BlockSize: o.BlockSize, BlockRestartInterval: o.RestartInterval, Compression: c,
		BloomBitsPerKey: o.BloomBits, WriteBufferSize: o.WriteBuffer, MaxFileSize: o.FileSize,
		MaxOpenFiles: o.OpenFiles, BlockCacheSize: o.CacheSize, ParanoidChecks: o.Paranoid,
		Comparator: cmp,
	}
}

// readOptions returns the read options of every read of the run, through snapshot s.
func (o metaOptions) readOptions(s *Snapshot) *ReadOptions {
	return &ReadOptions{Snapshot: s, VerifyChecksums: o.Verify, DontFillCache: o.NoFill}
}

// metaOptionFields names each field in the text form.
func (o *metaOptions) fields() []struct {
	name string
	p    any
} {
	return []struct {
		name string
		p    any
	}{
		{"blocksize", &o.BlockSize}, {"restart", &o.RestartInterval}, {"snappy", &o.Snappy},
		{"bloom", &o.BloomBits}, {"wbuf", &o.WriteBuffer}, {"filesize", &o.FileSize},
		{"openfiles", &o.OpenFiles}, {"cache", &o.CacheSize}, {"paranoid", &o.Paranoid},
		{"verify", &o.Verify}, {"nofill", &o.NoFill},
	}
}

func (o metaOptions) String() string {
	var parts []string
	for _, f := range o.fields() {
		switch p := f.p.(type) {
		case *int:
			parts = append(parts, fmt.Sprintf("%s=%d", f.name, *p))
		case *bool:
			parts = append(parts, fmt.Sprintf("%s=%v", f.name, *p))
		}
	}
	return strings.Join(parts, " ")
}

// parseMetaOptions parses the text form; fields not named keep their defaults (zero: the DB's).
func parseMetaOptions(s string) (metaOptions, error) {
	var o metaOptions
	fields := o.fields()
	for _, w := range strings.Fields(s) {
		name, value, _ := strings.Cut(w, "=")
		found := false
		for _, f := range fields {
			if f.name != name {
				continue
			}
			found = true
			var err error
			switch p := f.p.(type) {
			case *int:
				*p, err = strconv.Atoi(value)
			case *bool:
				*p, err = strconv.ParseBool(value)
			}
			if err != nil {
				return o, fmt.Errorf("bad option %q", w)
			}
		}
		if !found {
			return o, fmt.Errorf("unknown option %q", w)
		}
	}
	return o, nil
}

// metaReverse orders keys bytewise backwards: the test's non-default comparator. Its Separator
// and Successor return a itself, which is always correct.
type metaReverse struct{}

func (metaReverse) Compare(a, b []byte) int           { return bytes.Compare(b, a) }
func (metaReverse) Name() string                      { return "strata.test.ReverseBytewise" }
func (metaReverse) Separator(dst, a, b []byte) []byte { return append(dst, a...) }
func (metaReverse) Successor(dst, a []byte) []byte    { return append(dst, a...) }

// metaComparator returns the comparator of a name in a file's header.
func metaComparator(name string) (Comparator, error) {
	switch name {
	case "bytewise", "":
		return BytewiseComparator, nil
	case "reverse":
		return metaReverse{}, nil
	}
	return nil, fmt.Errorf("unknown comparator %q (bytewise or reverse)", name)
}
