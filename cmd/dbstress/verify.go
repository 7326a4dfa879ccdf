package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/stratadb/strata/db"
)

// checkRead checks a read of key i made between the state loads s0 and s1 that found value
// (present) or nothing: it returns "" when that is allowed, else the violation, naming the key,
// what was expected and what was found.
func checkRead(i int, s0, s1 state, value []byte, present bool, valueSize int) string {
	f, msg := foundOf(i, value, present)
	if msg != "" {
		return msg
	}
	if allowed(s0, s1, f) {
		return ""
	}
	want := describeWindow(s0, s1)
	if s0 == s1 {
		want = expectedValue(i, s0, valueSize)
	}
	return fmt.Sprintf("key %s: expected %s, found %s", keyString(i), want, describeFound(f))
}

// foundOf returns what a read of key i found, or a violation when value is not a value of key
// i that dbstress wrote.
func foundOf(i int, value []byte, present bool) (found, string) {
	if !present {
		return found{}, ""
	}
	v, err := checkValue(i, value)
	if err != nil {
		return found{}, fmt.Sprintf("key %s: found a value dbstress did not write: %s %v", keyString(i), quoteValue(value), err)
	}
	// A copy: an iterator's value may point into a table's mapping, gone once the DB closes.
	return found{present: true, version: v, value: bytes.Clone(value[:min(len(value), 64)])}, ""
}

// sampleGets is how many keys verifyDB also reads with Get.
const sampleGets = 1000

// verifyDB scans the whole of d and checks every key i of the key space, found or not, against
// the window of states (s0[i], s1[i]) (allowed); d must not change meanwhile. It also reads a
// sample of the keys with Get, which must agree with the scan. With s0 nil it checks only that
// every value is one dbstress wrote under its key (adopting a DB whose expected state is not
// exact). It returns what it found of each key and how many reads it verified; a violation
// goes to viol, and an error reading ends the scan and is returned.
func verifyDB(d *db.DB, s0, s1 []state, valueSize int, rng *rand.Rand, viol func(string)) ([]found, int64, error) {
	n := len(s1)
	fs := make([]found, n)
	var reads int64
	check := func(i int, value []byte, present bool) {
		reads++
		if s0 == nil {
			var msg string
			fs[i], msg = foundOf(i, value, present)
			if msg != "" {
				viol(msg)
			}
			return
		}
		if msg := checkRead(i, s0[i], s1[i], value, present, valueSize); msg != "" {
			viol(msg)
		}
		fs[i], _ = foundOf(i, value, present)
	}
	it := d.NewIterator(&db.ReadOptions{VerifyChecksums: true, DontFillCache: true})
	next := 0 // the keys below next have been checked
	for ok := it.First(); ok; ok = it.Next() {
		i, isKey := parseKey(it.Key(), n)
		switch {
		case !isKey:
			viol(fmt.Sprintf("found key %q, which dbstress never writes", it.Key()))
			continue
		case i < next:
			viol(fmt.Sprintf("the scan found key %s after %s", keyString(i), keyString(next-1)))
			continue
		}
		for ; next < i; next++ {
			check(next, nil, false)
		}
		check(i, it.Value(), true)
		next = i + 1
	}
	if err := it.Error(); err != nil {
		it.Close()
		return nil, reads, err
	}
	if err := it.Close(); err != nil {
		return nil, reads, err
	}
	for ; next < n; next++ {
		check(next, nil, false)
	}

	for range min(sampleGets, n) {
		i := rng.IntN(n)
		v, err := d.Get(appendKey(nil, i), &db.ReadOptions{VerifyChecksums: true})
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return nil, reads, fmt.Errorf("Get %s: %w", keyString(i), err)
		}
		reads++
		f, msg := foundOf(i, v, err == nil)
		switch {
		case msg != "":
			viol("Get: " + msg)
		case f.present != fs[i].present || f.version != fs[i].version:
			viol(fmt.Sprintf("key %s: Get found %s, the scan %s", keyString(i), describeFound(f), describeFound(fs[i])))
		}
	}
	return fs, reads, nil
}

// adopt sets the expected state of every key to what a verifyDB without states found: the
// version found, or, for a key found absent, absent at the version the file had.
func adopt(e *expected, fs []found) {
	for i, f := range fs {
		if f.present {
			e.set(i, makeState(f.version, true))
		} else {
			e.set(i, makeState(e.get(i).version(), false))
		}
	}
}
