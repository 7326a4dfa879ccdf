package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/benchgen"
)

func TestFormatKey(t *testing.T) {
	require.Equal(t, "0000000000000000", string(benchgen.FormatKey(nil, 0)))
	require.Equal(t, "0000000000123456", string(benchgen.FormatKey(nil, 123456)))
	require.Equal(t, "x0000002147483647", string(benchgen.FormatKey([]byte("x"), 2147483647)))
	if strconv.IntSize == 64 {
		k := 99999999
		k = k*100000000 + 99999999 // the largest 16-digit key, built at run time so 32-bit platforms compile
		require.Equal(t, "9999999999999999", string(benchgen.FormatKey(nil, k)))
	}
}

// The generator follows db_bench's: Park-Miller with the same seeds, printable random pieces
// repeated so that snappy keeps about the requested fraction.
func TestGenerator(t *testing.T) {
	r := benchgen.NewRNG(301)
	require.Equal(t, uint32(301*16807), r.Next())
	g := benchgen.NewValueGenerator(0.5)
	v := g.Generate(100)
	require.Len(t, v, 100)
	require.Equal(t, v[:50], v[50:], "half the value is random, repeated")
	for _, c := range v {
		require.True(t, c >= ' ' && c < ' '+95)
	}
	require.Len(t, g.Generate(3<<20), 3<<20, "values larger than the buffer are built")
}

var lineRE = regexp.MustCompile(`^[a-zA-Z0-9]+ +: +[0-9]+\.[0-9]{3} micros/op;`)

func TestRunSmall(t *testing.T) {
	c, err := parseFlags([]string{"--num=2000", "--benchmarks=fillseq,fillrandom,overwrite,readrandom,readmissing,readhot,readseq,readreverse,seekrandom,fillbatch,deleteseq,deleterandom,compact,fill100K,fillsync,stats",
		"--db=" + t.TempDir() + "/db", "--histogram", "--threads=2"})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(c, &out))
	text := out.String()
	require.Contains(t, text, "Keys:       16 bytes each")
	require.Contains(t, text, "Values:     100 bytes each (50 bytes after compression)")
	require.Contains(t, text, "Microseconds per op: p50")
	for _, name := range []string{"fillseq", "readrandom", "compact", "fill100K", "fillsync"} {
		found := false
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, name+" ") && lineRE.MatchString(l) {
				found = true
			}
		}
		require.True(t, found, "no db_bench line for %s in\n%s", name, text)
	}
	require.Regexp(t, `readmissing +: .*\(0 of 2000 found\)`, text)
	require.Contains(t, text, "Level  Files Size(MB)") // the stats benchmark
}

// TestRunMicro: db_bench's CPU benchmarks, which touch no DB, print their lines: the checksum
// with its 4K unit, compression with its output ratio.
func TestRunMicro(t *testing.T) {
	c, err := parseFlags([]string{"--num=100", "--benchmarks=crc32c,snappycomp,snappyuncomp", "--db=" + t.TempDir() + "/db"})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(c, &out))
	text := out.String()
	require.Regexp(t, `crc32c +: .*\(4K per op; [0-9a-f]{8}\)`, text)
	require.Regexp(t, `snappycomp +: .*\(output: [0-9.]+%\)`, text)
	require.Regexp(t, `snappyuncomp +: .*micros/op`, text)
}

func TestRunJSON(t *testing.T) {
	c, err := parseFlags([]string{"--num=500", "--benchmarks=fillseq,readseq", "--format=json", "--db=" + t.TempDir() + "/db"})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(c, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &obj))
	require.Equal(t, "readseq", obj["benchmark"])
	require.EqualValues(t, 500, obj["ops"])
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--threads=0"}, {"--format=xml"}, {"--num=0"}, {"extra"}} {
		_, err := parseFlags(args)
		require.Error(t, err, args)
	}
	c, err := parseFlags([]string{"--benchmarks=nosuch", "--db=" + t.TempDir()})
	require.NoError(t, err)
	require.ErrorContains(t, run(c, &bytes.Buffer{}), "unknown benchmark")
}

func TestVersionFlag(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, command([]string{"--version"}, &out, &errb))
	require.Regexp(t, `^dbbench \S+ \(go`, out.String())
	require.Empty(t, errb.String())
}

// TestUseExistingDB: --use_existing_db refuses a directory that holds no DB, instead of
// creating an empty one and reporting every read as a miss, and uses a DB that exists.
func TestUseExistingDB(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--use_existing_db"}, "--use_existing_db needs --db"},
		{[]string{"--use_existing_db", "--db=" + tmp + "/missing"}, tmp + "/missing does not exist"},
		{[]string{"--use_existing_db", "--db=" + tmp}, tmp + " holds no DB: it has no CURRENT file"},
	} {
		_, err := parseFlags(tc.args)
		require.ErrorContains(t, err, tc.want, tc.args)
		var out, errb bytes.Buffer
		require.Equal(t, 2, command(append(tc.args, "--benchmarks=readrandom"), &out, &errb), tc.args)
		require.Contains(t, errb.String(), tc.want)
		require.NoDirExists(t, tmp+"/missing", "nothing is created")
	}

	dir := tmp + "/db"
	c, err := parseFlags([]string{"--num=300", "--benchmarks=fillseq", "--db=" + dir})
	require.NoError(t, err)
	require.NoError(t, run(c, &bytes.Buffer{}))
	c, err = parseFlags([]string{"--num=300", "--benchmarks=readrandom", "--use_existing_db", "--db=" + dir})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(c, &out))
	require.Regexp(t, `readrandom +: .*\(300 of 300 found\)`, out.String())
}

// TestRunTxn: txnrandom and its baseline batch2random run in several goroutines on a filled DB
// and print db_bench's line, txnrandom's with its conflicts; a key space of 10 keys for 4
// goroutines makes transactions conflict, and each still commits (in JSON, every operation is
// counted once, the conflicts apart).
func TestRunTxn(t *testing.T) {
	c, err := parseFlags([]string{"--num=2000", "--benchmarks=fillrandom,batch2random,txnrandom,readrandom",
		"--db=" + t.TempDir() + "/db", "--threads=4"})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(c, &out))
	text := out.String()
	require.Regexp(t, `(?m)^batch2random : +[0-9]+\.[0-9]{3} micros/op; +[0-9.]+ MB/s$`, text)
	require.Regexp(t, `(?m)^txnrandom +: +[0-9]+\.[0-9]{3} micros/op; +[0-9.]+ MB/s \([0-9]+ conflicts\)$`, text)

	c, err = parseFlags([]string{"--num=10", "--benchmarks=fillseq,txnrandom", "--format=json",
		"--db=" + t.TempDir() + "/db", "--threads=4"})
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, run(c, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &obj))
	require.Equal(t, "txnrandom", obj["benchmark"])
	require.EqualValues(t, 40, obj["ops"])
	require.EqualValues(t, 40*2*(16+100), obj["bytes"])
	require.Contains(t, obj, "conflicts")
	require.Equal(t, "("+strconv.Itoa(int(obj["conflicts"].(float64)))+" conflicts)", obj["message"])
	t.Logf("%v conflicts in 40 transactions on 10 keys", obj["conflicts"])
}
