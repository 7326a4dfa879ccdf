package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strconv"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

var scanCommand = &command{
	synopsis: "sstdump scan [flags] TABLE",
	summary:  "print every entry of a table (.ldb, .sst)",
	arg:      "TABLE",
	doc: `
Prints every entry of the table, one per line, in the order stored:

  key#seq,KIND -> value    for a DB's table, whose keys are internal keys
  key -> value             for a raw table (keys that are not internal keys, or --raw)

KIND is SET or DEL. Keys and values are printed with printable ASCII as is, a backslash as
\\ and every other byte as \xNN (--hex: lowercase hex). An empty value prints as nothing
after the arrow. With --format=json each entry is one JSON object on its own line (see
docs/sstdump.md).

Values longer than 256 bytes are cut in text output, with a note of how many bytes were left
out ("...(+9743 bytes)"); --full-values prints them whole, --max-value N cuts at N. JSON
output has whole values unless --max-value is given.

Every block's checksum is verified; a damaged block is reported on stderr and skipped, and
the exit status is then 1. A file that is too short for a table or does not end with the
table magic is not a table: exit status 2. scan does not check key order: 'sstdump check'
does.`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		o := &scanOptions{}
		fs.BoolVar(&o.hex, "hex", false, "print keys and values (and read --from/--to) as hex")
		fs.StringVar(&o.from, "from", "", "start at this user `KEY` (inclusive); \\xNN is a byte, \\\\ a backslash")
		fs.StringVar(&o.to, "to", "", "stop before this user `KEY` (exclusive)")
		fs.IntVar(&o.limit, "limit", 0, "print at most `N` entries (0: all)")
		fs.BoolVar(&o.keysOnly, "keys-only", false, "print keys only")
		fs.BoolVar(&o.raw, "raw", false, "treat keys as raw bytes even if they parse as internal keys")
		o.values.define(fs)
		return func(e *env, args []string) error {
			if err := o.validate("scan", e.json); err != nil {
				return err
			}
			return scan(e, args[0], o)
		}
	},
}

type scanOptions struct {
	hex, keysOnly, raw bool
	from, to           string
	limit              int
	values             valueLimit
	maxValue           int // from values: bytes of each value to print, 0 for all

	fromKey, toKey []byte // parsed bounds; nil when unbounded
	hasFrom, hasTo bool
}

// validate checks the options and resolves the bounds and the value limit (json: for
// --format=json).
func (o *scanOptions) validate(cmd string, json bool) error {
	if o.limit < 0 {
		return usagef(cmd, "%s: --limit must not be negative", cmd)
	}
	var err error
	if o.maxValue, err = o.values.resolve(cmd, json); err != nil {
		return err
	}
	if o.hasFrom = o.from != ""; o.hasFrom {
		if o.fromKey, err = parseKeyArg(o.from, o.hex); err != nil {
			return usagef(cmd, "%s: --from: %v", cmd, err)
		}
	}
	if o.hasTo = o.to != ""; o.hasTo {
		if o.toKey, err = parseKeyArg(o.to, o.hex); err != nil {
			return usagef(cmd, "%s: --to: %v", cmd, err)
		}
	}
	return nil
}

// parseKeyArg reads a key given on the command line: hex digits with --hex, otherwise text in
// which \\ is a backslash and \xNN a byte (the form scan prints).
func parseKeyArg(s string, isHex bool) ([]byte, error) {
	if isHex {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not hex", s)
		}
		return b, nil
	}
	b, err := keys.UnescapeUserKey(s)
	if err != nil {
		return nil, fmt.Errorf("bad escape in %q (use \\\\ or \\xNN)", s)
	}
	return b, nil
}

// openFile opens a regular file read-only and returns it with its size. Directories, pipes
// and devices are refused.
func openFile(e *env, path string) (vfs.File, int64, error) {
	fi, err := e.fs.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if fi.IsDir() {
		return nil, 0, errors.New("is a directory")
	}
	if !fi.Mode().IsRegular() {
		// A pipe or a device has no size to check lengths against, and /dev/zero reads as an
		// endless log of zeroed blocks.
		return nil, 0, errors.New("not a regular file")
	}
	f, err := e.fs.Open(path)
	if err != nil {
		return nil, 0, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// openTableFile opens path as a table and decides what its keys are (raw forces raw keys).
// Errors are reported; it returns nil then.
func openTableFile(e *env, path string, raw bool) (*table, vfs.File, error) {
	f, size, err := openFile(e, path)
	if err != nil {
		return nil, nil, err
	}
	t, err := openTable(f, path, size)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !raw {
		t.detectKeys()
	}
	return t, f, nil
}

func scan(e *env, path string, o *scanOptions) error {
	t, f, err := openTableFile(e, path, o.raw)
	if err != nil {
		e.fileError(path, err)
		return nil
	}
	defer f.Close()

	start := 0
	if o.hasFrom {
		seek := o.fromKey
		cmp := keys.Bytewise.Compare
		if t.internal {
			seek = keys.AppendInternalKey(nil, o.fromKey, keys.MaxSeqNum, keys.KindMax)
			cmp = keys.NewInternalComparator(keys.Bytewise).Compare
		}
		start = sort.Search(len(t.index), func(i int) bool { return cmp(t.index[i].sep, seek) >= 0 })
	}
	var (
		f2      = bytesFormat{hex: o.hex, maxValue: o.maxValue}
		line    []byte
		printed int
		badKeys int
		done    bool
	)
	for i := start; i < len(t.index) && !done; i++ {
		_, _, err := t.dataBlock(i, func(en sstable.RawEntry) bool {
			uk := en.Key
			pk, ok := keys.ParsedKey{}, false
			if t.internal {
				if pk, ok = keys.Parse(en.Key); ok {
					uk = pk.UserKey
				} else {
					badKeys++
				}
			}
			if o.hasFrom && bytes.Compare(uk, o.fromKey) < 0 {
				return true
			}
			if o.hasTo && bytes.Compare(uk, o.toKey) >= 0 {
				done = true
				return false
			}
			line = line[:0]
			if e.json {
				line = appendEntryJSON(line, t.internal, ok, pk, en, o)
			} else {
				line = appendEntryText(line, t.internal, ok, pk, en, o, f2)
			}
			e.out.write(line)
			printed++
			if o.limit > 0 && printed >= o.limit || e.out.err() != nil {
				done = true
				return false
			}
			return true
		})
		if err != nil {
			if !isCorruption(err) {
				e.fileError(path, err)
				return nil
			}
			e.errorf(exitProblem, "%s", findingOf(path, err).text())
		}
		if err := e.out.err(); err != nil {
			return err
		}
	}
	if badKeys > 0 {
		e.errorf(exitProblem, "%s: %d keys do not parse as internal keys (printed with #BAD; --raw prints all keys as raw bytes)", path, badKeys)
	}
	return nil
}

func appendEntryText(line []byte, internal, ok bool, pk keys.ParsedKey, en sstable.RawEntry, o *scanOptions, f bytesFormat) []byte {
	switch {
	case !internal:
		line = f.appendBytes(line, en.Key)
	case ok:
		line = f.appendBytes(line, pk.UserKey)
		line = append(line, '#')
		line = strconv.AppendUint(line, uint64(pk.Seq), 10)
		line = append(line, ',')
		line = append(line, pk.Kind.String()...)
	default:
		line = f.appendBytes(line, en.Key)
		line = append(line, "#BAD"...)
	}
	if !o.keysOnly {
		line = append(line, " ->"...)
		if len(en.Value) > 0 {
			line = append(line, ' ')
			line = f.appendValue(line, en.Value)
		}
	}
	return append(line, '\n')
}

func appendEntryJSON(line []byte, internal, ok bool, pk keys.ParsedKey, en sstable.RawEntry, o *scanOptions) []byte {
	line = append(line, '{')
	switch {
	case !internal:
		line = appendJSONBytes(line, "key", en.Key, o.hex)
	case ok:
		line = appendJSONBytes(line, "key", pk.UserKey, o.hex)
		line = append(line, `,"seq":`...)
		line = strconv.AppendUint(line, uint64(pk.Seq), 10)
		line = append(line, `,"kind":"`...)
		line = append(line, pk.Kind.String()...)
		line = append(line, '"')
	default:
		line = appendJSONBytes(line, "key", en.Key, o.hex)
		line = append(line, `,"kind":"BAD"`...)
	}
	if !o.keysOnly {
		v := en.Value
		if o.maxValue > 0 && len(v) > o.maxValue {
			v = v[:o.maxValue]
			line = append(line, `,"value_len":`...)
			line = strconv.AppendInt(line, int64(len(en.Value)), 10)
		}
		line = append(line, ',')
		line = appendJSONBytes(line, "value", v, o.hex)
	}
	return append(line, "}\n"...)
}
