package logfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/fscases"
	"github.com/stratadb/strata/vfs"

	"github.com/stretchr/testify/require"
)

// appendChunks returns chunks of many sizes (empty, short, one of more than the reservation,
// and enough in all that the first 2 MiB are released from the mapping)
// whose bytes are never zero, so a test can tell written bytes from the zero tail.
func appendChunks() [][]byte {
	var chunks [][]byte
	for i, n := range []int{0, 1, 7, 8, 9, 100, 4096, 70000, 3, 300000, 12, 2 << 20, 5} {
		c := bytes.Repeat([]byte{byte(i + 1)}, n)
		chunks = append(chunks, c)
	}
	return chunks
}

// TestAppender writes through an Appender on every vfs.FS and with every option set: the file holds
// the bytes written, then zeros, while it is open (for mapped appends), exactly the bytes
// after Close, and whatever was synced after a crash.
func TestAppender(t *testing.T) {
	for _, c := range fscases.All() {
		for _, o := range []AppenderOptions{{}, {Reserve: 4096}, {Huge: true}, {NoMap: true}} {
			t.Run(c.Name, func(t *testing.T) {
				fs, dir := c.Setup(t)
				name := filepath.Join(dir, "log")
				f, err := fs.Create(name)
				require.NoError(t, err)
				a := NewAppender(f, name, o)
				_, prealloc := f.(vfs.Preallocatable)
				var want []byte
				for _, chunk := range appendChunks() {
					n, err := a.Write(chunk)
					require.NoError(t, err)
					require.Equal(t, len(chunk), n)
					want = append(want, chunk...)
					require.Equal(t, int64(len(want)), a.Size())
					// The chunk and what follows it: written at once, then zeros.
					got := readRange(t, fs, name, int64(len(want)-len(chunk)), len(chunk)+64<<10)
					require.GreaterOrEqual(t, len(got), len(chunk))
					require.True(t, bytes.Equal(chunk, got[:len(chunk)]), "the bytes written are in the file at once")
					require.True(t, allZeroBytes(got[len(chunk):]), "the reserved tail is zero")
				}
				require.True(t, bytes.Equal(want, filetest.Read(t, fs, name)[:len(want)]), "every byte stays written")
				require.Equal(t, prealloc && !o.NoMap, a.InPlace())
				require.NoError(t, a.Sync())
				require.NoError(t, a.Finish())
				require.True(t, bytes.Equal(want, filetest.Read(t, fs, name)), "Finish cuts the file to the bytes written")
				require.NoError(t, a.Sync(), "Sync works after Finish")
				_, err = a.Write([]byte("x"))
				require.Error(t, err, "Write after Finish")
				require.NoError(t, a.Close())
				require.True(t, bytes.Equal(want, filetest.Read(t, fs, name)))
			})
		}
	}
}

func allZeroBytes(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// readRange reads up to n bytes of name from off (fewer at the end of the file).
func readRange(t *testing.T, fs vfs.FS, name string, off int64, n int) []byte {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	p := make([]byte, n)
	m, err := f.ReadAt(p, off)
	if err != nil {
		require.ErrorIs(t, err, io.EOF)
	}
	return p[:m]
}

// TestAppenderCrash: after a power loss a mapped log holds at least what was synced, and past
// that only bytes that were written or zeros.
func TestAppenderCrash(t *testing.T) {
	fs := vfs.NewMem()
	f, err := fs.Create("/log")
	require.NoError(t, err)
	a := NewAppender(f, "/log", AppenderOptions{Reserve: 1000})
	_, err = a.Write([]byte("synced"))
	require.NoError(t, err)
	require.NoError(t, a.Sync())
	_, err = a.Write([]byte(" lost"))
	require.NoError(t, err)
	require.NoError(t, fs.SyncDir("/"))
	got := filetest.Read(t, fs.CrashClone(), "/log")
	require.Equal(t, "synced", string(got[:6]))
	require.True(t, allZeroBytes(got[6:]), "unsynced bytes are gone, the synced reservation is zero")
}

// TestAppenderFaults: a failed reservation (a full disk) fails the Write and leaves the Appender
// usable; a filesystem that cannot reserve or map at the first Write gets plain writes, and a
// mapping that fails later positioned ones; a torn Store leaves the Write's first bytes zero.
func TestAppenderFaults(t *testing.T) {
	write := func(t *testing.T, inj vfs.Injector, wantInPlace bool) (*Appender, vfs.FS) {
		fs := vfs.WithFaults(vfs.NewMem(), inj)
		f, err := fs.Create("/log")
		require.NoError(t, err)
		a := NewAppender(f, "/log", AppenderOptions{Reserve: 64})
		_, err = a.Write([]byte("first write"))
		require.NoError(t, err)
		require.Equal(t, wantInPlace, a.InPlace())
		return a, fs
	}
	t.Run("disk full at a later reservation", func(t *testing.T) {
		a, fs := write(t, vfs.OnNth(2, syscall.ENOSPC, vfs.OpAllocate), true)
		_, err := a.Write(make([]byte, 200))
		require.ErrorIs(t, err, syscall.ENOSPC)
		n, err := a.Write([]byte(" second"))
		require.NoError(t, err, "a failed reservation stores nothing and breaks nothing")
		require.Equal(t, 7, n)
		require.NoError(t, a.Close())
		require.Equal(t, "first write second", string(filetest.Read(t, fs, "/log")))
	})
	t.Run("no fallocate", func(t *testing.T) {
		a, fs := write(t, vfs.OnNth(1, syscall.EOPNOTSUPP, vfs.OpAllocate), false)
		_, err := a.Write([]byte(" second"))
		require.NoError(t, err)
		require.NoError(t, a.Close())
		require.Equal(t, "first write second", string(filetest.Read(t, fs, "/log")))
	})
	t.Run("first mapping fails", func(t *testing.T) {
		a, fs := write(t, vfs.OnNth(1, vfs.ErrInjected, vfs.OpMap), false)
		require.NoError(t, a.Close())
		require.Equal(t, "first write", string(filetest.Read(t, fs, "/log")))
	})
	t.Run("later mapping fails", func(t *testing.T) {
		a, fs := write(t, vfs.OnNth(2, vfs.ErrInjected, vfs.OpMap), true)
		big := bytes.Repeat([]byte("b"), 200)
		_, err := a.Write(big)
		require.NoError(t, err, "writes go on with pwrite")
		require.False(t, a.InPlace())
		_, err = a.Write([]byte("x"))
		require.NoError(t, err)
		require.NoError(t, a.Close())
		require.Equal(t, "first write"+string(big)+"x", string(filetest.Read(t, fs, "/log")))
	})
	t.Run("torn store", func(t *testing.T) {
		a, fs := write(t, vfs.OnNth(2, &vfs.PartialWriteError{N: 4, Err: vfs.ErrInjected}, vfs.OpWrite), true)
		_, err := a.Write([]byte("0123456789abcdef"))
		require.ErrorIs(t, err, vfs.ErrInjected)
		got := filetest.Read(t, fs, "/log")
		require.Equal(t, "first write", string(got[:11]))
		require.Equal(t, make([]byte, 8), got[11:19], "the head is stored last")
		require.Equal(t, "89ab", string(got[19:23]))
		require.NoError(t, a.Close())
		require.Equal(t, "first write", string(filetest.Read(t, fs, "/log")), "Close cuts the torn bytes")
	})
}

// TestAppenderFaultIsAnError: a store through a mapping whose file was cut short under it
// returns an error instead of killing the process with SIGBUS.
func TestAppenderFaultIsAnError(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mapped appends are implemented on Linux")
	}
	name := filepath.Join(t.TempDir(), "log")
	f, err := vfs.NewOS().Create(name)
	require.NoError(t, err)
	a := NewAppender(f, name, AppenderOptions{Reserve: 1 << 16})
	_, err = a.Write([]byte("before"))
	require.NoError(t, err)
	require.NoError(t, os.Truncate(name, 0))
	_, err = a.Write(bytes.Repeat([]byte("x"), 10000))
	require.Error(t, err)
	require.ErrorIs(t, err, syscall.EIO)
	require.True(t, errors.Is(err, vfs.ErrMappedFault), "%v", err)
	require.Contains(t, err.Error(), name)
	require.NoError(t, a.Close())
}

// TestAppenderWriteHeadsLast: WriteHeadsLast writes the same bytes as Write, and through a
// mapping it stores the heads after everything else: a failure at the first head's store leaves
// every head zero and the rest written.
func TestAppenderWriteHeadsLast(t *testing.T) {
	p := bytes.Repeat([]byte("abcdefghij"), 5) // heads at 2, 20 and 41, 7 bytes each
	heads := []int{2, 20, 41}
	for _, c := range fscases.All() {
		t.Run(c.Name, func(t *testing.T) {
			fs, dir := c.Setup(t)
			name := filepath.Join(dir, "log")
			f, err := fs.Create(name)
			require.NoError(t, err)
			a := NewAppender(f, name, AppenderOptions{Reserve: 64})
			n, err := a.WriteHeadsLast(p, heads, 7)
			require.NoError(t, err)
			require.Equal(t, len(p), n)
			require.NoError(t, a.Close())
			require.Equal(t, string(p), string(filetest.Read(t, fs, name)))
		})
	}
	// Stores: the bytes before the first head, the three pieces between heads, then the heads.
	fs := vfs.WithFaults(vfs.NewMem(), vfs.OnNth(5, vfs.ErrInjected, vfs.OpWrite))
	f, err := fs.Create("/log")
	require.NoError(t, err)
	a := NewAppender(f, "/log", AppenderOptions{Reserve: 64})
	_, err = a.WriteHeadsLast(p, heads, 7)
	require.ErrorIs(t, err, vfs.ErrInjected)
	got := filetest.Read(t, fs, "/log")[:len(p)]
	want := bytes.Clone(p)
	for _, h := range heads {
		clear(want[h : h+7])
	}
	require.Equal(t, string(want), string(got))
	require.NoError(t, a.Close())
}

// TestAppenderSyncNext: with SetSyncNext, a write goes through WriteAt (not counted as
// mapped): within one page as one pwrite, across pages with its heads written last; a write
// whose head straddles two pages still goes through the mapping.
func TestAppenderSyncNext(t *testing.T) {
	fs := vfs.NewMem()
	f, err := fs.Create("/log")
	require.NoError(t, err)
	a := NewAppender(f, "/log", AppenderOptions{Reserve: 1 << 16})
	var want []byte
	write := func(p []byte, sync bool, wantMapped int64) {
		t.Helper()
		a.SetSyncNext(sync)
		_, err := a.WriteHeadsLast(p, []int{0}, 7)
		require.NoError(t, err)
		want = append(want, p...)
		require.Equal(t, wantMapped, a.MappedBytes())
	}
	write(bytes.Repeat([]byte("s"), 100), false, 100)
	write(bytes.Repeat([]byte("t"), 100), true, 100)         // one page: a pwrite
	write(bytes.Repeat([]byte("b"), 5000), true, 100)        // across pages: pwrites, heads last
	write(bytes.Repeat([]byte("f"), 8190-5200), false, 3090) // unsynced: mapped, up to 2 bytes before a page
	write(bytes.Repeat([]byte("h"), 100), true, 3190)        // its head straddles the page: mapped
	require.NoError(t, a.Close())
	require.True(t, bytes.Equal(want, filetest.Read(t, fs, "/log")))

	// A failed pwrite of the head leaves it zero, the rest written. (The first pwrite is the
	// zeros ahead of the record, the second the record but its head.)
	fs2 := vfs.WithFaults(vfs.NewMem(), vfs.OnNth(3, vfs.ErrInjected, vfs.OpWrite))
	f2, err := fs2.Create("/log")
	require.NoError(t, err)
	a2 := NewAppender(f2, "/log", AppenderOptions{Reserve: 1 << 16})
	a2.SetSyncNext(true)
	p := bytes.Repeat([]byte("x"), 5000)
	_, err = a2.WriteHeadsLast(p, []int{0}, 7)
	require.ErrorIs(t, err, vfs.ErrInjected)
	got := filetest.Read(t, fs2, "/log")
	require.Equal(t, make([]byte, 7), got[:7], "the head is written last")
	require.True(t, bytes.Equal(p[7:], got[7:5000]))
	require.NoError(t, a2.Close())
}

// TestAppenderZeroAhead: synced writes write zeros over the reservation ahead of them, 64 KiB
// at a time (so that a sync commits a change of the blocks' state once per 64 KiB, not per
// block), and unsynced writes do not; the file holds exactly the records at the end.
func TestAppenderZeroAhead(t *testing.T) {
	for _, sync := range []bool{true, false} {
		counter := vfs.NewCounter(vfs.OpWrite)
		fs := vfs.WithFaults(vfs.NewMem(), counter)
		f, err := fs.Create("/log")
		require.NoError(t, err)
		a := NewAppender(f, "/log", AppenderOptions{Reserve: 1 << 20})
		var want []byte
		const records, size = 200, 1000 // no record's head straddles a page
		zeroed := 0
		for i := range records {
			p := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			a.SetSyncNext(sync)
			before := a.zeroedTo
			_, err := a.WriteHeadsLast(p, []int{0}, 7)
			require.NoError(t, err)
			want = append(want, p...)
			if a.zeroedTo != before {
				zeroed++
				require.Equal(t, int64(zeroAheadBytes), a.zeroedTo-max(before, (a.size+osPageSize-1)&^(osPageSize-1)))
			}
			if sync {
				require.Greater(t, a.zeroedTo, a.size+osPageSize-1, "a page past the record is zeroed")
			}
		}
		writes := counter.Count()
		require.NoError(t, a.Close())
		require.True(t, bytes.Equal(want, filetest.Read(t, fs, "/log")))
		if !sync {
			require.Zero(t, zeroed, "unsynced writes write no zeros ahead")
			continue
		}
		// One zero write per 64 KiB; each record one pwrite, or two (its body, then its head)
		// across a page.
		require.Equal(t, records*size/zeroAheadBytes+1, zeroed)
		require.Equal(t, int64(records+zeroed+records*size/osPageSize), writes)
	}
}
