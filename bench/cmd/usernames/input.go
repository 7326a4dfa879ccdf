package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// inputFormat numbers the way names are generated; a change to names.go that changes any name
// must increase it, so that files written before are regenerated.
const inputFormat = 1

// sidecar describes an input file; it is written beside it (the file's name plus ".json")
// once the file is complete, and an input is reused only when its sidecar matches the run's
// n and seed and the file's length and CRC-32C match the sidecar.
type sidecar struct {
	Format int    `json:"format"`
	N      int64  `json:"n"`
	Seed   uint64 `json:"seed"`
	Bytes  int64  `json:"bytes"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// inputPath is the input file of n names from seed in dir.
func inputPath(dir string, n int64, seed uint64) string {
	return filepath.Join(dir, fmt.Sprintf("usernames-%d-%d.txt", n, seed))
}

// ensureInput returns the path of the input file of n names from seed in dir, writing it
// unless a complete one is there already (checked against its sidecar), and reports on w
// what it did.
func ensureInput(w io.Writer, dir string, n int64, seed uint64) (string, error) {
	path := inputPath(dir, n, seed)
	want := sidecar{Format: inputFormat, N: n, Seed: seed}
	start := time.Now()
	ok, why := checkInput(path, want)
	if ok {
		fmt.Fprintf(w, "input: %s, reused (length and CRC-32C checked in %.1f s)\n", path, time.Since(start).Seconds())
		return path, nil
	}
	fmt.Fprintf(w, "input: writing %s (%s)\n", path, why)
	start = time.Now()
	sc, err := writeInput(path, n, seed)
	if err != nil {
		return "", err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(w, "input: %d names, %d bytes in %.1f s (%.2f M names/s)\n", n, sc.Bytes, secs, float64(n)/secs/1e6)
	return path, nil
}

// checkInput reports whether path is a complete input matching want's format, n and seed, and
// if not, why.
func checkInput(path string, want sidecar) (bool, string) {
	b, err := os.ReadFile(path + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return false, "no such input yet"
	}
	if err != nil {
		return false, err.Error()
	}
	var got sidecar
	if err := json.Unmarshal(b, &got); err != nil {
		return false, "unreadable sidecar: " + err.Error()
	}
	if got.Format != want.Format || got.N != want.N || got.Seed != want.Seed {
		return false, fmt.Sprintf("sidecar says format %d, n %d, seed %d", got.Format, got.N, got.Seed)
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err.Error()
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != got.Bytes {
		return false, "length differs from the sidecar's"
	}
	h := crc32.New(castagnoli)
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return false, err.Error()
	}
	if h.Sum32() != got.CRC32C {
		return false, "CRC-32C differs from the sidecar's"
	}
	return true, ""
}

// writeInput writes the input of n names from seed to path (through a temporary file renamed
// into place), then its sidecar, and returns the sidecar. Names are formatted into one reused
// buffer: no allocation per line.
func writeInput(path string, n int64, seed uint64) (sidecar, error) {
	g, err := newGenerator(n, seed)
	if err != nil {
		return sidecar{}, err
	}
	os.Remove(path + ".json")
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return sidecar{}, err
	}
	defer os.Remove(tmp) // after the rename: no such file
	sc := sidecar{Format: inputFormat, N: n, Seed: seed}
	const bufSize = 1 << 20
	buf := make([]byte, 0, bufSize)
	flush := func() error {
		sc.CRC32C = crc32.Update(sc.CRC32C, castagnoli, buf)
		sc.Bytes += int64(len(buf))
		_, err := f.Write(buf)
		buf = buf[:0]
		return err
	}
	for i := uint64(0); i < uint64(n); i++ {
		if len(buf) > bufSize-maxNameLen-1 {
			if err := flush(); err != nil {
				f.Close()
				return sidecar{}, err
			}
		}
		buf = append(g.appendLine(buf, i), '\n')
	}
	err = flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return sidecar{}, err
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return sidecar{}, err
	}
	return sc, os.WriteFile(path+".json", append(b, '\n'), 0o644)
}
