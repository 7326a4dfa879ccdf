package logfile

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/vfs"
)

// opsFile is a MemFS file that records the Appender's stores, releases and pwrites.
type opsFile struct {
	vfs.File
	ops *[]string
}

func (f opsFile) pa() vfs.Preallocatable { return f.File.(vfs.Preallocatable) }

func (f opsFile) Allocate(size int64) error { return f.pa().Allocate(size) }
func (f opsFile) Truncate(size int64) error { return f.pa().Truncate(size) }
func (f opsFile) SyncData() error           { return f.pa().SyncData() }

func (f opsFile) WriteAt(p []byte, off int64) (int, error) {
	*f.ops = append(*f.ops, fmt.Sprintf("pwrite %d+%d", off, len(p)))
	return f.pa().WriteAt(p, off)
}

func (f opsFile) MapWritable(size int, huge bool) (vfs.WritableRegion, error) {
	r, err := f.pa().MapWritable(size, huge)
	return opsRegion{r, f.ops}, err
}

type opsRegion struct {
	vfs.WritableRegion
	ops *[]string
}

func (r opsRegion) Store(off int, p []byte) error {
	*r.ops = append(*r.ops, fmt.Sprintf("store %d+%d", off, len(p)))
	return r.WritableRegion.Store(off, p)
}

func (r opsRegion) Release(off, n int) {
	*r.ops = append(*r.ops, fmt.Sprintf("release %d+%d", off, n))
	r.WritableRegion.Release(off, n)
}

// A write that crosses into the next huge page gives up the pages before it before it stores
// anything past them, so the process never maps both; the heads it left behind are written with
// pwrite, after every other byte and in order, as the stores would have been. A head that
// straddles a 4 KiB page (whose pwrite a kill could cut) keeps the usual order: release after
// the write. Small pages release after the write too.
func TestAppenderHugeReleaseEarly(t *testing.T) {
	const h = hugePage
	cases := []struct {
		name  string
		huge  bool
		start int64 // where the crossing write begins
		want  []string
	}{
		{"huge", true, h - 100, []string{
			fmt.Sprintf("store %d+93", h-93), fmt.Sprintf("release 0+%d", h), fmt.Sprintf("store %d+193", h+7),
			fmt.Sprintf("pwrite %d+7", h-100), fmt.Sprintf("store %d+7", h)}},
		{"huge-head-straddles-a-page", true, h - 4099, []string{
			fmt.Sprintf("store %d+4092", h-4092), fmt.Sprintf("store %d+193", h+7),
			fmt.Sprintf("store %d+7", h-4099), fmt.Sprintf("store %d+7", h), fmt.Sprintf("release 0+%d", h)}},
		{"small-pages", false, h - 100, []string{
			fmt.Sprintf("store %d+93", h-93), fmt.Sprintf("store %d+193", h+7),
			fmt.Sprintf("store %d+7", h-100), fmt.Sprintf("store %d+7", h), fmt.Sprintf("release 0+%d", h)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := vfs.NewMem()
			f, err := fs.Create("/log")
			require.NoError(t, err)
			var ops []string
			a := NewAppender(opsFile{f, &ops}, "/log", AppenderOptions{Reserve: 4 * h, Huge: c.huge})
			filler := bytes.Repeat([]byte{'f'}, int(c.start))
			_, err = a.WriteHeadsLast(filler, []int{0}, 7)
			require.NoError(t, err)
			ops = ops[:0]
			first := int(h - c.start) // the second head, at the huge page's start
			p := bytes.Repeat([]byte{'p'}, first+200)
			_, err = a.WriteHeadsLast(p, []int{0, first}, 7)
			require.NoError(t, err)
			require.Equal(t, c.want, ops)
			require.NoError(t, a.Close())
			require.Equal(t, string(filler)+string(p), string(filetest.Read(t, fs, "/log")))
			require.Equal(t, int64(len(filler)+len(p))-map[bool]int64{true: 7, false: 0}[c.name == "huge"], a.MappedBytes(),
				"a head written with pwrite is not a mapped byte")
		})
	}
}
