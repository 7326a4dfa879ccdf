package db

// The operations of the metamorphic test (metamorphic_test.go) and their text form: one
// operation a line, which is what a failure writes and -metamorphic-ops replays.
//
//	put KEY VALUE [sync]            del KEY [sync]           sync (an empty synced write)
//	batch [sync] put KEY VALUE del KEY ...
//	get KEY [@sN]                   scan [@sN]               (read the latest state, or snapshot N)
//	snap N                          release N
//	iter N [@sS|@tT] [lo=KEY] [hi=KEY]                       (over the latest state, snapshot S or
//	first N | last N | next N | prev N | seekge N KEY | seeklt N KEY | iterclose N   transaction T)
//	compact KEY|nil KEY|nil         flush
//	reopen | crash | readonly       checkpoint [ro]
//	txn N | tget N KEY | tput N KEY VALUE | tdel N KEY | commit N [sync] | discard N
//	update KEY DEST VALUE           (DB.Update: read KEY; put VALUE at DEST if found, else delete DEST)
//	view KEY                        (DB.View: read KEY)
//
// A KEY is a Go-quoted string. A VALUE is vID*LEN: LEN bytes that start "vID:" and go on with a
// filler drawn from ID (metaValue), so that a file stays small however large its values and a
// value read back names the write it came from. Blank lines and lines starting with # are
// skipped, but for "#! name value" lines, which carry the run's settings (metaHeader).

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// metaKind is the kind of an operation; its String is the operation's name in the text form.
type metaKind uint8

const (
	metaPut metaKind = iota
	metaDel
	metaBatch
	metaSync
	metaGet
	metaScan
	metaSnap
	metaRelease
	metaIter
	metaFirst
	metaLast
	metaNext
	metaPrev
	metaSeekGE
	metaSeekLT
	metaIterClose
	metaCompact
	metaFlush
	metaReopen
	metaCrash
	metaReadOnly
	metaCheckpoint
	metaTxn
	metaTxnGet
	metaTxnPut
	metaTxnDel
	metaCommit
	metaDiscard
	metaUpdate
	metaView
	numMetaKinds
)

var metaKindNames = [numMetaKinds]string{
	"put", "del", "batch", "sync", "get", "scan", "snap", "release", "iter", "first", "last", "next",
	"prev", "seekge", "seeklt", "iterclose", "compact", "flush", "reopen", "crash", "readonly",
	"checkpoint", "txn", "tget", "tput", "tdel", "commit", "discard", "update", "view",
}

func (k metaKind) String() string {
	if k < numMetaKinds {
		return metaKindNames[k]
	}
	return fmt.Sprintf("metaKind(%d)", uint8(k))
}

// metaValue names a value: Len bytes made from ID (bytes).
type metaValue struct{ ID, Len int }

func (v metaValue) String() string { return fmt.Sprintf("v%d*%d", v.ID, v.Len) }

// bytes returns the value: "vID:" and then, for one ID in three, random bytes drawn from ID
// (incompressible), else one letter repeated (compressible); cut to Len.
func (v metaValue) bytes() []byte {
	b := make([]byte, 0, max(v.Len, 16))
	b = fmt.Appendf(b, "v%d:", v.ID)
	if v.ID%3 == 0 {
		rng := rand.New(rand.NewPCG(uint64(v.ID), 0x5eed))
		for len(b) < v.Len {
			b = append(b, byte(rng.Uint32()))
		}
	} else {
		for len(b) < v.Len {
			b = append(b, byte('a'+v.ID%26))
		}
	}
	return b[:v.Len]
}

// metaEntry is one put (Del false) or delete of a batch.
type metaEntry struct {
	Del   bool
	Key   []byte
	Value metaValue
}

// metaOp is one operation. Which fields matter depends on Kind (see the file comment): ID is the
// snapshot, iterator or transaction the operation is about; Snap or Txn (0 = none) the snapshot
// or transaction a read goes through; Key the key of a put, delete, get or seek, or the start
// of a compaction; Limit the compaction's limit; Dest the key an update writes; Lower and Upper
// an iterator's bounds. Nil keys
// are unbounded; a non-nil empty key is the empty key.
type metaOp struct {
	Kind         metaKind
	ID           int
	Snap, Txn    int
	Key, Limit   []byte
	Dest         []byte
	Lower, Upper []byte
	Value        metaValue
	Entries      []metaEntry
	Sync         bool
	ReadOnly     bool // a checkpoint opened read-only
}

func (op metaOp) String() string {
	var b strings.Builder
	b.WriteString(op.Kind.String())
	word := func(s string) { b.WriteByte(' '); b.WriteString(s) }
	key := func(k []byte) { word(strconv.Quote(string(k))) }
	id := func() { word(strconv.Itoa(op.ID)) }
	switch op.Kind {
	case metaPut, metaDel:
		key(op.Key)
		if op.Kind == metaPut {
			word(op.Value.String())
		}
		if op.Sync {
			word("sync")
		}
	case metaBatch:
		if op.Sync {
			word("sync")
		}
		for _, e := range op.Entries {
			if e.Del {
				word("del")
				key(e.Key)
			} else {
				word("put")
				key(e.Key)
				word(e.Value.String())
			}
		}
	case metaUpdate:
		key(op.Key)
		key(op.Dest)
		word(op.Value.String())
	case metaView:
		key(op.Key)
	case metaGet, metaScan:
		if op.Kind == metaGet {
			key(op.Key)
		}
		if op.Snap != 0 {
			word(fmt.Sprintf("@s%d", op.Snap))
		}
	case metaSnap, metaRelease, metaFirst, metaLast, metaNext, metaPrev, metaIterClose, metaTxn, metaDiscard:
		id()
	case metaSeekGE, metaSeekLT, metaTxnGet, metaTxnDel:
		id()
		key(op.Key)
	case metaTxnPut:
		id()
		key(op.Key)
		word(op.Value.String())
	case metaCommit:
		id()
		if op.Sync {
			word("sync")
		}
	case metaIter:
		id()
		if op.Snap != 0 {
			word(fmt.Sprintf("@s%d", op.Snap))
		}
		if op.Txn != 0 {
			word(fmt.Sprintf("@t%d", op.Txn))
		}
		if op.Lower != nil {
			word("lo=" + strconv.Quote(string(op.Lower)))
		}
		if op.Upper != nil {
			word("hi=" + strconv.Quote(string(op.Upper)))
		}
	case metaCompact:
		for _, k := range [][]byte{op.Key, op.Limit} {
			if k == nil {
				word("nil")
			} else {
				key(k)
			}
		}
	case metaCheckpoint:
		if op.ReadOnly {
			word("ro")
		}
	}
	return b.String()
}

// metaHeader is the settings a file of operations carries in its "#!" lines: the comparator
// of every run ("bytewise" or "reverse"), and option sets (metaOptions, one a line) to replay
// the operations under.
type metaHeader struct {
	Comparator string
	Options    []metaOptions
}

// writeMetaOps writes ops in the text form, after comment lines and the header.
func writeMetaOps(w io.Writer, comments []string, h metaHeader, ops []metaOp) error {
	bw := bufio.NewWriter(w)
	for _, c := range comments {
		fmt.Fprintf(bw, "# %s\n", c)
	}
	fmt.Fprintf(bw, "#! comparator %s\n", h.Comparator)
	for _, o := range h.Options {
		fmt.Fprintf(bw, "#! options %s\n", o)
	}
	for _, op := range ops {
		fmt.Fprintln(bw, op)
	}
	return bw.Flush()
}

// parseMetaOps parses the text form.
func parseMetaOps(r io.Reader) (metaHeader, []metaOp, error) {
	h := metaHeader{Comparator: "bytewise"}
	var ops []metaOp
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "#!"); ok {
			name, value, _ := strings.Cut(strings.TrimSpace(rest), " ")
			switch name {
			case "comparator":
				h.Comparator = strings.TrimSpace(value)
			case "options":
				o, err := parseMetaOptions(value)
				if err != nil {
					return h, nil, fmt.Errorf("line %d: %w", n, err)
				}
				h.Options = append(h.Options, o)
			default:
				return h, nil, fmt.Errorf("line %d: unknown setting %q", n, name)
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, err := parseMetaOp(line)
		if err != nil {
			return h, nil, fmt.Errorf("line %d: %w", n, err)
		}
		ops = append(ops, op)
	}
	return h, ops, sc.Err()
}

// metaTokens splits a line into words; a quoted key is one word, unquoted.
type metaTokens struct {
	words  []string
	quoted []bool
}

func tokenizeMeta(line string) (metaTokens, error) {
	var t metaTokens
	for line = strings.TrimLeft(line, " \t"); line != ""; line = strings.TrimLeft(line, " \t") {
		prefix := ""
		if i := strings.IndexAny(line, " \t\""); i >= 0 && line[i] == '"' {
			prefix, line = line[:i], line[i:] // lo="..." and hi="..."
		}
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return t, fmt.Errorf("bad quoted key in %q", line)
			}
			s, _ := strconv.Unquote(q)
			t.words, t.quoted = append(t.words, prefix+s), append(t.quoted, true)
			line = line[len(q):]
			continue
		}
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		t.words, t.quoted = append(t.words, line[:end]), append(t.quoted, false)
		line = line[end:]
	}
	return t, nil
}

// parseMetaOp parses one line of the text form.
func parseMetaOp(line string) (metaOp, error) {
	t, err := tokenizeMeta(line)
	if err != nil || len(t.words) == 0 {
		return metaOp{}, fmt.Errorf("bad operation %q", line)
	}
	var op metaOp
	kind := -1
	for k, name := range metaKindNames {
		if name == t.words[0] && !t.quoted[0] {
			kind = k
		}
	}
	if kind < 0 {
		return op, fmt.Errorf("unknown operation %q", line)
	}
	op.Kind = metaKind(kind)
	args, quoted := t.words[1:], t.quoted[1:]
	bad := func() (metaOp, error) { return metaOp{}, fmt.Errorf("bad arguments in %q", line) }
	next := func() (string, bool, bool) {
		if len(args) == 0 {
			return "", false, false
		}
		w, q := args[0], quoted[0]
		args, quoted = args[1:], quoted[1:]
		return w, q, true
	}
	keyArg := func() ([]byte, bool) {
		w, q, ok := next()
		return []byte(w), ok && q
	}
	idArg := func() bool {
		w, q, ok := next()
		n, err := strconv.Atoi(w)
		op.ID = n
		return ok && !q && err == nil
	}
	valueArg := func() (metaValue, bool) {
		w, q, ok := next()
		v, err := parseMetaValue(w)
		return v, ok && !q && err == nil
	}
	var ok bool
	switch op.Kind {
	case metaPut:
		if op.Key, ok = keyArg(); !ok {
			return bad()
		}
		if op.Value, ok = valueArg(); !ok {
			return bad()
		}
	case metaDel:
		if op.Key, ok = keyArg(); !ok {
			return bad()
		}
	case metaBatch:
		if len(args) > 0 && args[0] == "sync" && !quoted[0] {
			op.Sync = true
			next()
		}
		for len(args) > 0 {
			w, _, _ := next()
			var e metaEntry
			if e.Key, ok = keyArg(); !ok || (w != "put" && w != "del") {
				return bad()
			}
			e.Del = w == "del"
			if !e.Del {
				if e.Value, ok = valueArg(); !ok {
					return bad()
				}
			}
			op.Entries = append(op.Entries, e)
		}
	case metaUpdate:
		if op.Key, ok = keyArg(); !ok {
			return bad()
		}
		if op.Dest, ok = keyArg(); !ok {
			return bad()
		}
		if op.Value, ok = valueArg(); !ok {
			return bad()
		}
	case metaView:
		if op.Key, ok = keyArg(); !ok {
			return bad()
		}
	case metaGet, metaSeekGE, metaSeekLT, metaTxnGet, metaTxnDel, metaTxnPut:
		if op.Kind != metaGet && !idArg() {
			return bad()
		}
		if op.Key, ok = keyArg(); !ok {
			return bad()
		}
		if op.Kind == metaTxnPut {
			if op.Value, ok = valueArg(); !ok {
				return bad()
			}
		}
	case metaSnap, metaRelease, metaFirst, metaLast, metaNext, metaPrev, metaIterClose, metaTxn, metaDiscard,
		metaCommit, metaIter:
		if !idArg() {
			return bad()
		}
	case metaCompact:
		for _, dst := range []*[]byte{&op.Key, &op.Limit} {
			w, q, ok := next()
			switch {
			case !ok:
				return bad()
			case q:
				*dst = []byte(w)
			case w != "nil":
				return bad()
			}
		}
	}
	// The optional words, in any order.
	for len(args) > 0 {
		w, q, _ := next()
		switch {
		case q && strings.HasPrefix(w, "lo=") && op.Kind == metaIter:
			op.Lower = []byte(w[3:])
		case q && strings.HasPrefix(w, "hi=") && op.Kind == metaIter:
			op.Upper = []byte(w[3:])
		case q:
			return bad()
		case w == "sync" && (op.Kind == metaPut || op.Kind == metaDel || op.Kind == metaCommit):
			op.Sync = true
		case w == "ro" && op.Kind == metaCheckpoint:
			op.ReadOnly = true
		case strings.HasPrefix(w, "@s") && (op.Kind == metaGet || op.Kind == metaScan || op.Kind == metaIter):
			n, err := strconv.Atoi(w[2:])
			if err != nil {
				return bad()
			}
			op.Snap = n
		case strings.HasPrefix(w, "@t") && op.Kind == metaIter:
			n, err := strconv.Atoi(w[2:])
			if err != nil {
				return bad()
			}
			op.Txn = n
		default:
			return bad()
		}
	}
	return op, nil
}

// parseMetaValue parses vID*LEN.
func parseMetaValue(s string) (metaValue, error) {
	id, n, ok := strings.Cut(strings.TrimPrefix(s, "v"), "*")
	v := metaValue{}
	var err1, err2 error
	v.ID, err1 = strconv.Atoi(id)
	v.Len, err2 = strconv.Atoi(n)
	if !ok || !strings.HasPrefix(s, "v") || err1 != nil || err2 != nil || v.Len < 0 {
		return v, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

// fmtMetaValue prints a value read back: quoted when short, else its head, length and
// checksum, which name the write it came from and catch any changed byte.
func fmtMetaValue(v []byte) string {
	if len(v) <= 24 {
		return strconv.Quote(string(v))
	}
	return fmt.Sprintf("%s+%d#%08x", strconv.Quote(string(v[:12])), len(v), crc32.ChecksumIEEE(v))
}
