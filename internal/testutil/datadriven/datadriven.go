// Package datadriven runs tests written as text files: each case is a command with its input,
// and the output the test must print for it. Stateful code (a version set fed edits, a picker)
// is tested by reading the file top to bottom; a reviewer reads the expected trees instead of
// Go assertions. It is our own small harness, in the style of pebble's datadriven package.
//
// # File format
//
// A file is a sequence of cases separated by blank lines. Lines starting with '#' between
// cases are comments. A case is:
//
//	command arg1 key=value ...
//	input line
//	input line
//	----
//	expected output line
//	expected output line
//
// The first line holds the command and its arguments, separated by spaces: a bare word is an
// argument with an empty Val, key=value one with both. The input is every line up to the "----"
// separator (possibly none). The expected output is every line after it up to the next blank
// line or the end of the file. An output that itself contains blank lines is written between
// doubled separators, and ends at the next doubled separator:
//
//	command
//	----
//	----
//	first paragraph
//
//	second paragraph
//	----
//	----
//
// The test function returns the actual output for each case; RunTest compares it with the
// expected output (a missing final newline is added to both) and reports every mismatch with
// its file and line.
//
// # Rewriting
//
// Run the tests with -rewrite (go test ./pkg/ -run TestX -rewrite) to replace the expected
// output in the files with the actual output, keeping commands, inputs and comments as they
// are. Review the diff before committing it.
//
// The harness is not safe for concurrent use: one RunTest per file at a time.
package datadriven

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of datadriven test files with the actual output")

const separator = "----"

// CmdArg is one argument of a command line: `key` or `key=val`.
type CmdArg struct {
	Key string
	Val string
}

// String prints the argument as it was written.
func (a CmdArg) String() string {
	if a.Val == "" {
		return a.Key
	}
	return a.Key + "=" + a.Val
}

// TestData is one case of a test file.
type TestData struct {
	Pos      string   // "file:line" of the command line
	Cmd      string   // the command: the first word of the command line
	CmdArgs  []CmdArg // the rest of the command line
	Input    string   // the lines between the command line and the separator, joined by "\n"
	Expected string   // the expected output, ending in "\n" unless empty

	// Lines [outStart, outEnd) of the file hold the separator and the expected output.
	outStart, outEnd int
}

// Arg returns the value of the argument named key and whether it is present.
func (td *TestData) Arg(key string) (string, bool) {
	for _, a := range td.CmdArgs {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// HasArg reports whether the argument named key is present.
func (td *TestData) HasArg(key string) bool {
	_, ok := td.Arg(key)
	return ok
}

// Fatalf fails the test with a message that names the case's position.
func (td *TestData) Fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s: %s: %s", td.Pos, td.Cmd, fmt.Sprintf(format, args...))
}

// RunTest runs every case of the file at path through f, in order, and compares f's output with
// the expected output. With -rewrite it writes the actual outputs back into the file instead.
func RunTest(t *testing.T, path string, f func(t *testing.T, td *TestData) string) {
	t.Helper()
	runTest(t, path, f, t.Errorf)
}

// runTest is RunTest with mismatches reported through errorf.
func runTest(t *testing.T, path string, f func(t *testing.T, td *TestData) string, errorf func(format string, args ...any)) {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(content), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1] // the file's final newline
	}
	cases, err := parse(path, lines)
	if err != nil {
		t.Fatal(err)
	}
	outputs := make([]string, len(cases))
	for i, td := range cases {
		got := normalize(f(t, td))
		outputs[i] = got
		if !*rewrite && got != td.Expected {
			errorf("%s: %s: output differs\nexpected:\n%sgot:\n%s", td.Pos, td.Cmd, td.Expected, got)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(rewritten(lines, cases, outputs)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Walk runs f as a subtest, named after the file, for every file in dir, in name order.
func Walk(t *testing.T, dir string, f func(t *testing.T, path string)) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		t.Run(name, func(t *testing.T) { f(t, path) })
	}
}

func normalize(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// parse splits the lines of a file into cases.
func parse(path string, lines []string) ([]*TestData, error) {
	var cases []*TestData
	i := 0
	for i < len(lines) {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			i++
			continue
		}
		td := &TestData{Pos: fmt.Sprintf("%s:%d", path, i+1)}
		fields := strings.Fields(line)
		td.Cmd = fields[0]
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			td.CmdArgs = append(td.CmdArgs, CmdArg{Key: k, Val: v})
		}
		i++
		var input []string
		for i < len(lines) && lines[i] != separator {
			input = append(input, lines[i])
			i++
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s: %s: no %q line after the command", td.Pos, td.Cmd, separator)
		}
		td.Input = strings.Join(input, "\n")
		td.outStart = i
		i++
		var out []string
		if i < len(lines) && lines[i] == separator {
			// Doubled separators: the output may hold blank lines.
			i++
			for {
				if i+1 >= len(lines) {
					return nil, fmt.Errorf("%s: %s: output opened with a doubled %q is not closed by one", td.Pos, td.Cmd, separator)
				}
				if lines[i] == separator && lines[i+1] == separator {
					i += 2
					break
				}
				out = append(out, lines[i])
				i++
			}
		} else {
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
				out = append(out, lines[i])
				i++
			}
		}
		td.outEnd = i
		if len(out) > 0 {
			td.Expected = strings.Join(out, "\n") + "\n"
		}
		cases = append(cases, td)
	}
	return cases, nil
}

// formatOutput returns the separator and output lines of a case, doubling the separators when
// the output holds a blank line.
func formatOutput(out string) []string {
	body := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		body = nil
	}
	blank := false
	for _, l := range body {
		if strings.TrimSpace(l) == "" {
			blank = true
		}
	}
	if !blank {
		return append([]string{separator}, body...)
	}
	res := append([]string{separator, separator}, body...)
	return append(res, separator, separator)
}

// rewritten returns the file with each case's output replaced.
func rewritten(lines []string, cases []*TestData, outputs []string) string {
	var b strings.Builder
	prev := 0
	for i, td := range cases {
		for _, l := range lines[prev:td.outStart] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		for _, l := range formatOutput(outputs[i]) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		prev = td.outEnd
	}
	for _, l := range lines[prev:] {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
