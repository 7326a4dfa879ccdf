package memtable

// TestDataDriven runs the cases written as text in testdata (internal/testutil/datadriven):
//
//	define [reverse]       a new memtable (with reverse, ordered by a reverse comparator),
//	add                    then the input's entries ("key#seq,SET=value", "key#seq,DEL"), one
//	                       per line; prints how many entries the table holds (or "empty"), and
//	                       each entry it refused
//	get KEY [seq=N]        found VALUE, deleted or absent at sequence N (default: the newest);
//	                       "" is the empty key
//	iter                   the input's calls, one per line: first, last, next, prev, and
//	                       seek-ge KEY SEQ and seek-lt KEY SEQ with the lookup key of KEY at SEQ;
//	                       each prints the entry it lands on, or "." at an end
//
// go test ./memtable -run TestDataDriven -rewrite rewrites the expected outputs.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/datadriven"
	"github.com/stratadb/strata/internal/testutil/testcmp"
)

func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var m *MemTable
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			key := func(s string) []byte {
				if s == `""` {
					return []byte{}
				}
				return []byte(s)
			}
			switch td.Cmd {
			case "define", "add":
				if td.Cmd == "define" {
					var cmp keys.Comparator = keys.Bytewise
					if td.HasArg("reverse") {
						cmp = testcmp.Reverse{}
					}
					m = New(cmp, 1<<16)
				}
				var out []string
				for _, line := range strings.Fields(td.Input) {
					k, v, _ := strings.Cut(line, "=")
					pk, err := keys.ParseDebug(k)
					require.NoError(t, err, td.Pos)
					if err := m.Add(pk.Seq, pk.Kind, pk.UserKey, []byte(v)); err != nil {
						out = append(out, line+" refused")
					}
				}
				if m.Empty() {
					return strings.Join(append(out, "empty"), "\n")
				}
				return strings.Join(append(out, fmt.Sprintf("%d entries", m.Len())), "\n")
			case "get":
				seq := keys.MaxSeqNum
				if s, ok := td.Arg("seq"); ok {
					n, err := strconv.ParseUint(s, 10, 64)
					require.NoError(t, err)
					seq = keys.SeqNum(n)
				}
				v, res := m.Get(key(td.CmdArgs[0].Key), seq)
				if res == Found {
					return fmt.Sprintf("%s %q", res, v)
				}
				require.Empty(t, v, "%s: %s with a value", td.Pos, res)
				return res.String()
			case "iter":
				it := m.NewIterator()
				defer func() { require.NoError(t, it.Close()) }()
				var out []string
				for _, line := range strings.Split(td.Input, "\n") {
					f := strings.Fields(line)
					var ok bool
					switch f[0] {
					case "first":
						ok = it.First()
					case "last":
						ok = it.Last()
					case "next":
						ok = it.Next()
					case "prev":
						ok = it.Prev()
					case "seek-ge", "seek-lt":
						seq, err := strconv.ParseUint(f[2], 10, 64)
						require.NoError(t, err)
						lookup := keys.AppendInternalKey(nil, key(f[1]), keys.SeqNum(seq), keys.KindMax)
						if f[0] == "seek-ge" {
							ok = it.SeekGE(lookup)
						} else {
							ok = it.SeekLT(lookup)
						}
					default:
						td.Fatalf(t, "unknown call %q", line)
					}
					require.Equal(t, ok, it.Valid())
					require.NoError(t, it.Error())
					res := "."
					if ok {
						res = keys.FormatInternalKey(it.Key()) + "=" + string(it.Value())
					}
					out = append(out, line+": "+res)
				}
				return strings.Join(out, "\n")
			}
			td.Fatalf(t, "unknown command")
			return ""
		})
	})
}
