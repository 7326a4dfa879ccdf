package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The expected-state file, dbstress.expected in the DB's directory (Strata ignores files whose
// names are not its own), holds the expected state of every key between runs and, in --kill
// mode, between children:
//
//	magic    "DBSTRESS"  8 bytes
//	format   uint32      1
//	status   uint32      statusClean, statusRunning or statusFailed
//	keys     uint64      the size of the key space, --keys
//	states   keys x uint64, the settled state of each key (no pending bits)
//	checksum uint32      CRC-32C of everything before it
//
// all little-endian. Only the parent process writes it (the run itself without --kill), each
// time by writing a temporary file, syncing it, renaming it over the old one and syncing the
// directory, so a crash leaves the old file or the new one. The status says whether the file
// matches the DB: clean (it does: the last run ended, or the parent verified the DB after a
// kill and wrote what it found), running (a run was under way; if it is still there, the run
// was itself killed and the DB may be ahead of the file), failed (a run found a violation and
// kept the directory for inspection).
const (
	expectedName   = "dbstress.expected"
	expectedMagic  = "DBSTRESS"
	expectedFormat = 1
	headerLen      = 8 + 4 + 4 + 8
)

// Status of the expected-state file.
const (
	statusClean   = 0
	statusRunning = 1
	statusFailed  = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// saveExpected writes e, with status, as dir's expected-state file. Pending bits are dropped:
// the caller has settled every key.
func saveExpected(dir string, e *expected, status uint32) error {
	b := make([]byte, headerLen, headerLen+8*e.len()+4)
	copy(b, expectedMagic)
	binary.LittleEndian.PutUint32(b[8:], expectedFormat)
	binary.LittleEndian.PutUint32(b[12:], status)
	binary.LittleEndian.PutUint64(b[16:], uint64(e.len()))
	for i := range e.len() {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.get(i).settled()))
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))

	name := filepath.Join(dir, expectedName)
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir syncs the directory dir, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// errNoExpected is loadExpected's error when dir has no expected-state file.
var errNoExpected = errors.New("no expected-state file")

// loadExpected reads dir's expected-state file.
func loadExpected(dir string) (*expected, uint32, error) {
	name := filepath.Join(dir, expectedName)
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, errNoExpected
	}
	if err != nil {
		return nil, 0, err
	}
	if len(b) < headerLen+4 || string(b[:8]) != expectedMagic {
		return nil, 0, fmt.Errorf("%s: not a dbstress expected-state file", name)
	}
	if f := binary.LittleEndian.Uint32(b[8:]); f != expectedFormat {
		return nil, 0, fmt.Errorf("%s: format %d, this dbstress reads format %d", name, f, expectedFormat)
	}
	status := binary.LittleEndian.Uint32(b[12:])
	n := binary.LittleEndian.Uint64(b[16:])
	if n > maxKeys || uint64(len(b)) != headerLen+8*n+4 {
		return nil, 0, fmt.Errorf("%s: %d bytes, wrong for %d keys", name, len(b), n)
	}
	body := b[:len(b)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, 0, fmt.Errorf("%s: checksum mismatch (stored %08x, computed %08x)", name, want, got)
	}
	e := newExpected(int(n))
	for i := range e.len() {
		s := state(binary.LittleEndian.Uint64(b[headerLen+8*i:]))
		if s.pending() || s.pendingExists() {
			return nil, 0, fmt.Errorf("%s: key %s has a write in flight", name, keyString(i))
		}
		e.set(i, s)
	}
	return e, status, nil
}
