// Package opsfile parses ops.txt, the list of WriteBatches that the generator of the C++
// leveldb log fixture (wal/testdata/gen_log_fixture.cc) issued, one per line. The wal and batch
// tests read it to know what leveldb's log must hold.
//
// A line is a label followed by items "put KEY LEN" or "del KEY"; blank lines and lines
// starting with # are skipped. The value of a put is generated: on batch line n (counting from
// 0, comments skipped), byte j of item i is 'a' + (j + 3n + i) % 26, as the generator makes it.
package opsfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Op is one item of a line: a put of Value, or (Put false) a delete.
type Op struct {
	Put   bool
	Key   string
	Value []byte
}

// Batch is one line: its label and its items.
type Batch struct {
	Label string
	Ops   []Op
}

// Read parses the file at path, failing tb on any error.
func Read(tb testing.TB, path string) []Batch {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out, err := Parse(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// Parse parses an ops.txt from r.
func Parse(r io.Reader) ([]Batch, error) {
	var out []Batch
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		b := Batch{Label: fields[0]}
		for rest := fields[1:]; len(rest) > 0; {
			switch {
			case rest[0] == "put" && len(rest) >= 3:
				n, err := strconv.Atoi(rest[2])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("bad value length %q in %q", rest[2], line)
				}
				b.Ops = append(b.Ops, Op{Put: true, Key: rest[1], Value: value(len(out), len(b.Ops), n)})
				rest = rest[3:]
			case rest[0] == "del" && len(rest) >= 2:
				b.Ops = append(b.Ops, Op{Key: rest[1]})
				rest = rest[2:]
			default:
				return nil, fmt.Errorf("bad item %q in %q", rest, line)
			}
		}
		out = append(out, b)
	}
	return out, sc.Err()
}

// value is the generated value of item i of batch n.
func value(n, i, length int) []byte {
	v := make([]byte, length)
	for j := range v {
		v[j] = byte('a' + (j+3*n+i)%26)
	}
	return v
}
