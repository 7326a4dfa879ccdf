package compaction

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVersionInvariants feeds the invariant check trees that break each invariant in turn, and
// trees that only look suspicious.
func TestVersionInvariants(t *testing.T) {
	type file struct {
		level int
		num   uint64
		s, l  string
	}
	cases := []struct {
		name  string
		files []file
		want  string // "" = no violation; else a substring of the error
		noSeq bool   // check invariants 1 to 4 only
	}{
		{name: "ok", files: []file{
			{0, 20, "a#50,SET", "k#51,SET"}, {0, 21, "c#60,SET", "z#61,DEL"},
			{1, 10, "a#30,SET", "c#31,SET"}, {1, 11, "c#29,SET", "f#20,SET"},
			{2, 5, "a#10,SET", "z#10,SET"},
		}},
		{name: "empty tree"},
		{name: "smallest after largest", files: []file{{1, 10, "c#3,SET", "a#3,SET"}}, want: "smallest key after largest"},
		{name: "same user key, smallest older", files: []file{{1, 10, "c#3,SET", "c#4,SET"}}, want: "smallest key after largest"},
		{name: "not an internal key", files: []file{{1, 10, "a#3,SET", "z#3,SET"}}, want: "not an internal key"},
		{name: "L0 out of number order", files: []file{{0, 21, "a#5,SET", "b#5,SET"}, {0, 20, "x#4,SET", "y#4,SET"}},
			want: "L0 out of file-number order"},
		{name: "L1 overlapping", files: []file{{1, 10, "a#5,SET", "d#5,SET"}, {1, 11, "c#5,SET", "f#5,SET"}},
			want: "L1 overlaps or is out of order"},
		{name: "L1 sharing an internal key", files: []file{{1, 10, "a#5,SET", "c#5,SET"}, {1, 11, "c#5,SET", "f#5,SET"}},
			want: "L1 overlaps or is out of order"},
		{name: "L3 out of order", files: []file{{3, 10, "m#5,SET", "n#5,SET"}, {3, 11, "a#5,SET", "b#5,SET"}},
			want: "L3 overlaps or is out of order"},
		{name: "number twice", files: []file{{1, 10, "a#5,SET", "b#5,SET"}, {2, 10, "a#4,SET", "b#4,SET"}},
			want: "file 000010 is in L1 and in L2"},
		{name: "number not below next", files: []file{{1, 100, "a#5,SET", "b#5,SET"}}, want: "next file number 100"},
		{name: "sequence above last", files: []file{{1, 10, "a#5,SET", "b#1001,SET"}}, want: "above the last sequence 1000"},
		{name: "sequence above last, not checked", noSeq: true, files: []file{{1, 10, "a#5,SET", "b#1001,SET"}}},
		{name: "newer entry in L1 than in L0", files: []file{{0, 20, "a#50,SET", "k#51,SET"}, {1, 10, "k#60,SET", "m#60,SET"}},
			want: "user key k: L1 000010:[k#60,SET-m#60,SET] is searched after L0 000020"},
		{name: "newer entry in L2 than in L1", files: []file{{1, 10, "a#5,SET", "k#6,SET"}, {2, 11, "k#7,SET", "m#7,SET"}},
			want: "user key k: L2 000011"},
		{name: "equal sequence numbers across levels", files: []file{{1, 10, "a#5,SET", "k#6,SET"}, {2, 11, "k#6,DEL", "m#7,SET"}},
			want: "user key k: L2 000011"},
		{name: "same entry in two L0 files", files: []file{{0, 20, "a#50,SET", "k#51,SET"}, {0, 21, "a#50,SET", "k#51,SET"}}},
		{name: "same entry in two levels", files: []file{{1, 10, "a#5,SET", "k#6,DEL"}, {2, 11, "k#6,DEL", "m#7,SET"}}},
		{name: "newer entry in the older L0 file", files: []file{{0, 20, "a#50,SET", "k#51,SET"}, {0, 21, "k#40,SET", "m#52,SET"}},
			want: "user key k: L0 000020"},
		{name: "misplacement, not checked", noSeq: true, files: []file{{1, 10, "a#5,SET", "k#6,SET"}, {2, 11, "k#7,SET", "m#7,SET"}}},
		{name: "shared user key inside a level", files: []file{{1, 10, "a#5,SET", "k#9,SET"}, {1, 11, "k#7,SET", "m#7,SET"}}},
		{name: "shared user key, deeper is older", files: []file{
			{0, 30, "k#90,SET", "k#90,SET"}, {0, 31, "k#95,DEL", "k#95,DEL"},
			{1, 10, "a#5,SET", "k#80,SET"}, {3, 11, "k#70,SET", "m#7,SET"}, {6, 12, "k#1,SET", "k#1,SET"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := newVersionSet(nil, testDir, testICmp, nil)
			vs.nextFileNum, vs.lastSeq = 100, 1000
			v := &Version{icmp: testICmp, opts: &vs.opts}
			for _, f := range tc.files {
				m := meta(t, f.num, 100, f.s, f.l)
				if tc.name == "not an internal key" {
					m.Largest = []byte("z")
				}
				v.Levels[f.level] = append(v.Levels[f.level], m)
			}
			err := vs.versionInvariantError(v, !tc.noSeq)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestInvariantsHook checks that installing a broken Version panics in builds with
// -tags invariants, and not otherwise.
func TestInvariantsHook(t *testing.T) {
	vs := newVersionSet(nil, testDir, testICmp, nil)
	vs.nextFileNum = 5
	v := &Version{icmp: testICmp, opts: &vs.opts}
	v.Levels[1] = []*FileMetadata{meta(t, 9, 100, "a#1,SET", "b#1,SET")} // number 9 >= next 5
	install := func() { vs.appendVersion(v) }
	if !invariantsEnabled {
		require.NotPanics(t, install)
		return
	}
	defer func() {
		r := recover()
		require.NotNil(t, r, "installing a broken Version did not panic")
		require.True(t, strings.Contains(r.(string), "not below the next file number"), r)
	}()
	install()
}
