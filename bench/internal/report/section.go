// Package report writes what bench/'s commands measure: sections of a Markdown file that a
// command owns and rewrites whole (between two HTML comment markers), tables in Markdown and in
// plain text, bar charts as SVG written by hand (no dependency), and the results as JSON.
package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Markers returns the lines that open and close section name in a Markdown file.
func Markers(name string) (begin, end string) {
	return "<!-- bench:" + name + ":begin (generated; rewritten by the command) -->",
		"<!-- bench:" + name + ":end -->"
}

// ReplaceSection rewrites the text between section name's markers in the Markdown file at path
// with body. The file must exist; a section that is not there yet is appended at its end.
func ReplaceSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceSection(old, name, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func replaceSection(doc []byte, name, body string) ([]byte, error) {
	begin, end := Markers(name)
	body = strings.TrimRight(body, "\n") + "\n"
	i := bytes.Index(doc, []byte(begin))
	if i < 0 {
		var b bytes.Buffer
		b.Write(bytes.TrimRight(doc, "\n"))
		fmt.Fprintf(&b, "\n\n%s\n%s%s\n", begin, body, end)
		return b.Bytes(), nil
	}
	j := bytes.Index(doc[i:], []byte(end))
	if j < 0 {
		return nil, fmt.Errorf("section %q has no end marker %q", name, end)
	}
	j += i
	var b bytes.Buffer
	b.Write(doc[:i])
	fmt.Fprintf(&b, "%s\n%s", begin, body)
	b.Write(doc[j:])
	return b.Bytes(), nil
}

// Table is a table of strings with a header row.
type Table struct {
	Header []string
	Rows   [][]string
	// Right aligns the columns whose index it holds to the right (numbers).
	Right map[int]bool
}

// Markdown formats t as a GitHub Markdown table.
func (t *Table) Markdown() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for i := range t.Header {
		if t.Right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// Text formats t in aligned columns for a terminal.
func (t *Table) Text() string {
	width := make([]int, len(t.Header))
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.Right[i] {
				b.WriteString(pad + c)
			} else if i == len(r)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + pad)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// SetFlags returns the flags set on fs's command line as --name value, quoted for a shell, for
// the command a report prints; the internal flags of a child run (child, engine, child_dir) are
// left out.
func SetFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "child" && f.Name != "engine" && f.Name != "child_dir" {
			out = append(out, "--"+f.Name+" "+ShellQuote(f.Value.String()))
		}
	})
	return out
}

// ResolveSection checks a --section flag against the kinds of section a command writes ("full"
// and any others, such as "alternatives"), each of which has a "-smoke" twin for quick runs
// ("smoke" is full's). The empty default is "full" at num 1,000,000 and above and "smoke" below;
// another kind, named without its suffix, becomes its smoke twin below num 1,000,000 too. So a
// quick check never overwrites the full figures unless it names "full" itself.
func ResolveSection(section string, num int, kinds ...string) (string, error) {
	small := num < 1_000_000
	switch section {
	case "":
		if small {
			return "smoke", nil
		}
		return "full", nil
	case "full", "smoke":
		return section, nil
	}
	kind, smoke := strings.CutSuffix(section, "-smoke")
	if kind == "full" || !slices.Contains(kinds, kind) {
		return "", fmt.Errorf("--section must be one of %s", strings.Join(append([]string{"full", "smoke"}, kinds...), ", "))
	}
	if smoke || small {
		return kind + "-smoke", nil
	}
	return kind, nil
}

// IsSmoke reports whether section, as ResolveSection returns it, is a quick run's.
func IsSmoke(section string) bool { return section == "smoke" || strings.HasSuffix(section, "-smoke") }

// WriteJSON writes v to the file at path as indented JSON.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ShellQuote quotes s for a POSIX shell when it needs quoting, for commands printed to be
// pasted back.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
