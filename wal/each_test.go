package wal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
)

// TestEach: Each hands every record on with its offset, stops quietly at a torn tail (telling
// torn) and at the end, and returns fn's error or the reader's.
func TestEach(t *testing.T) {
	recs := [][]byte{payload(10, 'a'), payload(40000, 'b'), payload(0, 'c'), payload(300, 'd')}
	log := writeLog(t, recs...)
	type seen struct {
		rec []byte
		off int64
	}
	each := func(data []byte, torn func(error), stopAt int) ([]seen, error) {
		var got []seen
		err := NewReader(bytes.NewReader(data), "log").Each(torn, func(rec []byte, off int64) error {
			if len(got) == stopAt {
				return errors.New("stop")
			}
			got = append(got, seen{bytes.Clone(rec), off})
			return nil
		})
		return got, err
	}

	got, err := each(log, nil, -1)
	require.NoError(t, err)
	require.Len(t, got, len(recs))
	for i, s := range got {
		require.Equal(t, recs[i], s.rec, "record %d", i)
		if i > 0 {
			require.Greater(t, s.off, got[i-1].off)
		}
	}
	require.Equal(t, int64(0), got[0].off)

	// fn's error stops the walk and comes back.
	got, err = each(log, nil, 2)
	require.EqualError(t, err, "stop")
	require.Len(t, got, 2)

	// A torn last record: the records before it, torn told once, no error.
	var torn []error
	got, err = each(log[:len(log)-3], func(err error) { torn = append(torn, err) }, -1)
	require.NoError(t, err)
	require.Len(t, got, len(recs)-1)
	require.Len(t, torn, 1)
	require.ErrorIs(t, torn[0], ErrTornTail)
	got, err = each(log[:len(log)-3], nil, -1) // nil torn: the same, untold
	require.NoError(t, err)
	require.Len(t, got, len(recs)-1)

	// Damage in the middle is the reader's error.
	bad := bytes.Clone(log)
	bad[got[1].off+20] ^= 0xff
	_, err = each(bad, nil, -1)
	require.ErrorIs(t, err, dberr.ErrCorruption)
}
