package iterator_test

// TestDataDriven runs the cases written as text in testdata (internal/testutil/datadriven):
//
//	merging [fail=C:I]    children, one per input line: "key=value ..." (user keys, bytewise),
//	                      "-" for an empty child; with fail, child C fails at its entry I
//	visible [fail=C:I]    internal entries ("key#seq,SET=value", "key#seq,DEL"), one child per
//	                      input line; one line runs over two sources (the slice, and the entries
//	                      dealt round-robin over three slices merged), which must answer alike
//	iter [seq=N] [bounds=[lower,upper)]   a new Merging or Visible over what was defined, and
//	                      for each input line (a script of calls: First, Last, Next, Prev,
//	                      SeekGE(k), SeekLT(k), Error, Close, Closed), one output line: where
//	                      each call landed ("key=value", "." at an end, "err:..." on an error),
//	                      the error, Close's error, and whether every child is closed
//
// go test ./internal/iterator -run TestDataDriven -rewrite rewrites the expected outputs.

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/datadriven"
	"github.com/stratadb/strata/internal/testutil/iterutil"
)

var errBoom = errors.New("boom")

func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var (
			kind     string // "merging" or "visible"
			children [][]iterutil.Entry
			fail     [2]int // child, entry; child -1: none
		)
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "merging", "visible":
				kind, children, fail = td.Cmd, nil, [2]int{-1, 0}
				for _, line := range strings.Split(td.Input, "\n") {
					if kind == "visible" {
						children = append(children, parseEntries(t, line))
						continue
					}
					var es []iterutil.Entry
					for _, f := range strings.Fields(strings.TrimPrefix(line, "-")) {
						k, v, _ := strings.Cut(f, "=")
						es = append(es, iterutil.Entry{Key: []byte(k), Value: []byte(v)})
					}
					children = append(children, es)
				}
				if v, ok := td.Arg("fail"); ok {
					c, i, _ := strings.Cut(v, ":")
					fail[0], _ = strconv.Atoi(c)
					fail[1], _ = strconv.Atoi(i)
				}
				return ""
			case "iter":
				seq := keys.SeqNum(keys.MaxSeqNum)
				if v, ok := td.Arg("seq"); ok {
					n, _ := strconv.ParseUint(v, 10, 64)
					seq = keys.SeqNum(n)
				}
				bounds, _ := td.Arg("bounds")
				lower, upper := parseBounds(t, bounds)
				cmp := bytes.Compare
				if kind == "visible" {
					cmp = icmp.Compare
				}
				// The sources: the children merged (or, a single child of visible, the slice
				// itself and its entries dealt round-robin over three slices merged).
				var sources []func() (iterator.Iterator, []*iterutil.Slice)
				newSlices := func(parts [][]iterutil.Entry) []*iterutil.Slice {
					var out []*iterutil.Slice
					for i, p := range parts {
						s := iterutil.NewSlice(cmp, p)
						if i == fail[0] {
							s.FailAt(fail[1], errBoom)
						}
						out = append(out, s)
					}
					return out
				}
				merged := func(parts [][]iterutil.Entry) func() (iterator.Iterator, []*iterutil.Slice) {
					return func() (iterator.Iterator, []*iterutil.Slice) {
						s := newSlices(parts)
						its := make([]iterator.Iterator, len(s))
						for i := range s {
							its[i] = s[i]
						}
						return iterator.NewMerging(cmp, its...), s
					}
				}
				if kind == "visible" && len(children) == 1 {
					sources = append(sources, func() (iterator.Iterator, []*iterutil.Slice) {
						s := newSlices(children)
						return s[0], s
					})
					if fail[0] < 0 {
						parts := make([][]iterutil.Entry, 3)
						for i, e := range children[0] {
							parts[i%3] = append(parts[i%3], e)
						}
						sources = append(sources, merged(parts))
					}
				} else {
					sources = append(sources, merged(children))
				}
				var out string
				for i, src := range sources {
					it, kids := src()
					if kind == "visible" {
						it = iterator.NewVisible(it, keys.Bytewise, seq, lower, upper)
					}
					got := runScript(t, it, kids, td.Input)
					if i > 0 {
						require.Equal(t, out, got, "%s: the sources answer differently", td.Pos)
					}
					out = got
				}
				return out
			}
			td.Fatalf(t, "unknown command")
			return ""
		})
	})
}

// runScript runs each input line's calls on it and returns one output line per input line.
func runScript(t *testing.T, it iterator.Iterator, kids []*iterutil.Slice, input string) string {
	var lines []string
	for _, line := range strings.Split(input, "\n") {
		var out []string
		for _, op := range strings.Fields(line) {
			var ok bool
			switch {
			case op == "First":
				ok = it.First()
			case op == "Last":
				ok = it.Last()
			case op == "Next":
				ok = it.Next()
			case op == "Prev":
				ok = it.Prev()
			case strings.HasPrefix(op, "SeekGE(") && strings.HasSuffix(op, ")"):
				ok = it.SeekGE([]byte(op[7 : len(op)-1]))
			case strings.HasPrefix(op, "SeekLT(") && strings.HasSuffix(op, ")"):
				ok = it.SeekLT([]byte(op[7 : len(op)-1]))
			case op == "Error":
				out = append(out, errString(it.Error()))
				continue
			case op == "Close":
				out = append(out, "close="+errString(it.Close()))
				continue
			case op == "Closed":
				closed := true
				for _, k := range kids {
					closed = closed && k.Closed()
				}
				out = append(out, map[bool]string{true: "closed", false: "open"}[closed])
				continue
			default:
				t.Fatalf("unknown call %q", op)
			}
			require.Equal(t, ok, it.Valid(), "%s returned %v", op, ok)
			switch {
			case ok:
				out = append(out, string(it.Key())+"="+string(it.Value()))
			case it.Error() != nil:
				out = append(out, "err:"+it.Error().Error())
			default:
				out = append(out, ".")
			}
		}
		lines = append(lines, strings.Join(out, " "))
	}
	return strings.Join(lines, "\n")
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return fmt.Sprint(err)
}

// parseBounds reads "[lower,upper)" where "-" is no bound; "" is no bounds at all.
func parseBounds(t *testing.T, s string) (lower, upper []byte) {
	if s == "" {
		return nil, nil
	}
	require.True(t, strings.HasPrefix(s, "[") && strings.HasSuffix(s, ")"), "bounds %q", s)
	l, u, ok := strings.Cut(s[1:len(s)-1], ",")
	require.True(t, ok, "bounds %q", s)
	if l != "-" {
		lower = []byte(l)
	}
	if u != "-" {
		upper = []byte(u)
	}
	return lower, upper
}
