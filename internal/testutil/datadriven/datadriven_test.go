package datadriven

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const sample = `# A comment before the first case.
echo a b=c
line one
line two
----
echo a b=c
line one
line two

# Output with blank lines uses doubled separators.
para
----
----
x

y
----
----

noinput
----
noinput

empty
----
`

// echo prints the command line and the input, which is what sample expects; "para" prints two
// paragraphs and "empty" nothing.
func echo(t *testing.T, td *TestData) string {
	switch td.Cmd {
	case "para":
		return "x\n\ny"
	case "empty":
		return ""
	}
	var b strings.Builder
	b.WriteString(td.Cmd)
	for _, a := range td.CmdArgs {
		b.WriteString(" " + a.String())
	}
	b.WriteString("\n")
	if td.Input != "" {
		b.WriteString(td.Input + "\n")
	}
	return b.String()
}

func TestParse(t *testing.T) {
	cases, err := parse("f", strings.Split(strings.TrimSuffix(sample, "\n"), "\n"))
	require.NoError(t, err)
	require.Len(t, cases, 4)
	c := cases[0]
	require.Equal(t, "f:2", c.Pos)
	require.Equal(t, "echo", c.Cmd)
	require.Equal(t, []CmdArg{{Key: "a"}, {Key: "b", Val: "c"}}, c.CmdArgs)
	require.True(t, c.HasArg("a"))
	v, ok := c.Arg("b")
	require.True(t, ok)
	require.Equal(t, "c", v)
	require.False(t, c.HasArg("z"))
	require.Equal(t, "line one\nline two", c.Input)
	require.Equal(t, "echo a b=c\nline one\nline two\n", c.Expected)
	require.Equal(t, "x\n\ny\n", cases[1].Expected)
	require.Equal(t, "noinput\n", cases[2].Expected)
	require.Equal(t, "", cases[3].Expected)
}

func TestParseErrors(t *testing.T) {
	for name, text := range map[string]string{
		"no separator":   "cmd\ninput",
		"unclosed block": "cmd\n----\n----\nout\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse("f", strings.Split(text, "\n"))
			require.Error(t, err)
		})
	}
}

func TestRunTest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sample")
	require.NoError(t, os.WriteFile(path, []byte(sample), 0o644))
	RunTest(t, path, echo)
}

func TestRunTestReportsMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sample")
	require.NoError(t, os.WriteFile(path, []byte("cmd\n----\nwrong\n"), 0o644))
	var reports []string
	runTest(t, path, func(*testing.T, *TestData) string { return "right" }, func(format string, args ...any) {
		reports = append(reports, fmt.Sprintf(format, args...))
	})
	require.Len(t, reports, 1)
	require.Contains(t, reports[0], path+":1: cmd: output differs")
	require.Contains(t, reports[0], "expected:\nwrong\ngot:\nright\n")
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample")
	stale := strings.NewReplacer("line two\n----\necho a b=c\nline one\nline two\n", "line two\n----\nstale\n",
		"----\n----\nx\n\ny\n----\n----\n", "----\nold\n").Replace(sample)
	require.NotEqual(t, sample, stale)
	require.NoError(t, os.WriteFile(path, []byte(stale), 0o644))

	*rewrite = true
	defer func() { *rewrite = false }()
	RunTest(t, path, echo)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, sample, string(got))
}

func TestWalk(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b", "a"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sample), 0o644))
	}
	var seen []string
	Walk(t, dir, func(t *testing.T, path string) {
		seen = append(seen, filepath.Base(path))
		RunTest(t, path, echo)
	})
	require.Equal(t, []string{"a", "b"}, seen)
}
