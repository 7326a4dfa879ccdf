package compaction

// Replaying a MANIFEST: the one implementation of reading VersionEdits back into a level tree
// and the counters, used strictly by Recover and tolerantly by Repair and by sstdump.

import (
	"errors"
	"fmt"
	"io"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/wal"
)

// ProblemKind says what a ReplayProblem is.
type ProblemKind int

// The problems a replay meets. ReplayProblem's fields named with each are set for it.
const (
	// ProblemUndecodable: a record is not a VersionEdit (Err says why).
	ProblemUndecodable ProblemKind = iota + 1
	// ProblemComparator: an edit names the comparator Comparator where Want was expected: the
	// replay's comparator, or with ReplayOptions.AnyComparator the one an earlier edit named.
	ProblemComparator
	// ProblemDeleteAbsent: an edit deletes file Num from Level, which does not hold it.
	ProblemDeleteAbsent
	// ProblemAddPresent: an edit adds file Num (File) to Level while level Held holds it.
	ProblemAddPresent
	// ProblemAddInvalid: an edit adds file Num (File) to Level, which does not exist, or with
	// keys that are not internal keys in order.
	ProblemAddInvalid
	// ProblemOverlap: once the edits are applied, File and Other, neighbours in Level (1 or
	// deeper), overlap.
	ProblemOverlap
	// ProblemNoCounter: no edit of the Edits read recorded Counter ("next-file-number",
	// "log-number" or "last-sequence").
	ProblemNoCounter
)

// A ReplayProblem is something in a MANIFEST that recovery refuses: a record that is not an
// edit, another comparator, a change that does not apply to the tree, or a tree or counters
// that are not whole once every edit is applied. Its message is Reason (Err's for
// ProblemUndecodable); the other fields let a tool describe it in words of its own.
type ReplayProblem struct {
	Kind   ProblemKind
	Offset int64  // the offset of the edit's record; dberr.NoOffset for a fault of the end state
	Reason string // what is wrong, in recovery's words

	Err              error  // ProblemUndecodable: the decoding error (file and offset included)
	Comparator, Want string // ProblemComparator
	Level            int    // the level the change names, or that holds the overlapping files
	Num              uint64 // the file deleted or added
	Held             int    // ProblemAddPresent: the level holding Num
	File, Other      *FileMetadata
	Counter          string // ProblemNoCounter
	Edits            int    // ProblemNoCounter: the edits read
}

func (p *ReplayProblem) Error() string {
	if p.Err != nil {
		return p.Err.Error()
	}
	return p.Reason
}

// ReplayOptions says how a replay judges a MANIFEST and whom it tells.
type ReplayOptions struct {
	// Comparator orders the files' keys. Unless AnyComparator is set, an edit naming a user
	// comparator other than its one is a ProblemComparator.
	Comparator *keys.InternalComparator
	// AnyComparator lets a tool read the MANIFEST of any DB: an edit naming a comparator other
	// than an earlier edit did is the ProblemComparator, and while the MANIFEST names one other
	// than Comparator's, keys are sorted by Comparator but not checked for order.
	AnyComparator bool
	// Options gives the Version its level shape (compaction scores); nil means the defaults.
	// It must be normalized, as a VersionSet's are.
	Options *Options

	// Problem, when not nil, makes the replay tolerant: it receives each problem, and when it
	// returns nil the change at fault is skipped (an undecodable edit, a deletion, an addition;
	// an edit naming another comparator is still applied) and the replay goes on. When it
	// returns an error, the replay stops with that error. When Problem is nil, the replay is
	// strict: the first problem stops it with an error matching dberr.ErrCorruption, or
	// dberr.ErrInvalidArgument for a ProblemComparator.
	Problem func(p *ReplayProblem) error
	// Edit, when not nil, receives each edit that decodes, with its record's offset and size,
	// before it is applied. An error it returns stops the replay.
	Edit func(off int64, size int, e *VersionEdit) error

	// Damage, when not nil, makes ReplayManifest skip damaged stretches of the file, as
	// leveldb's log recovery does without paranoid checks, and receives each; when nil, damage
	// stops ReplayManifest with an error matching dberr.ErrCorruption.
	Damage func(off int64, dropped int, err error)
	// Torn, when not nil, receives the error of a record cut short at the end of the file: an
	// edit that was never acknowledged. ReplayManifest stops before it in any case.
	Torn func(err error)
}

// Replay applies the edits of one MANIFEST in order, as recovery does, and keeps what they add
// up to: the last value each counter was given (with whether any edit gave one) and, from
// Finish, the Version. Build one with NewReplay, feed it the records with Record, then call
// Finish; or let ReplayManifest do all three. A Replay belongs to one goroutine.
type Replay struct {
	Edits int // the edits decoded

	// The counters: what the last edit recording each gave, and whether any did.
	Comparator      string
	LogNum          uint64
	PrevLogNum      uint64
	NextFileNum     uint64
	LastSeq         keys.SeqNum
	HasComparator   bool
	HasLogNum       bool
	HasPrevLogNum   bool
	HasNextFileNum  bool
	HasLastSeq      bool
	CompactPointers [NumLevels][]byte // internal keys; nil for none

	path string // the MANIFEST, for errors
	o    ReplayOptions
	opts Options // the defaults, when o.Options is nil
	b    *builder
}

// NewReplay returns a Replay of the MANIFEST named path, starting from the empty tree.
func NewReplay(path string, o ReplayOptions) *Replay {
	r := &Replay{path: path, o: o}
	if o.Options == nil {
		r.opts = normalizedOptions(nil)
		r.o.Options = &r.opts
	}
	r.b = newBuilder(o.Comparator, r.o.Options, nil)
	return r
}

// ReplayManifest replays every record of the MANIFEST in f (named path in errors) and returns
// the Replay with the Version the edits lead to. It stops at the end of the file or before a
// torn tail; I/O errors, and what o makes fatal, stop it with an error.
func ReplayManifest(f io.Reader, path string, o ReplayOptions) (*Replay, *Version, error) {
	r := NewReplay(path, o)
	rd := wal.NewReader(f, path)
	if o.Damage != nil {
		rd.SkipCorruption(o.Damage)
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, wal.ErrTornTail) {
			if o.Torn != nil {
				o.Torn(err)
			}
			break
		}
		if err == nil {
			err = r.Record(rd.Offset(), rec)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	v, err := r.Finish()
	if err != nil {
		return nil, nil, err
	}
	return r, v, nil
}

// Record decodes rec, the record at offset off of the MANIFEST, and applies the edit it holds.
func (r *Replay) Record(off int64, rec []byte) error {
	var e VersionEdit
	if err := e.Decode(rec, r.path, off); err != nil {
		return r.problem(&ReplayProblem{Kind: ProblemUndecodable, Offset: off, Err: err})
	}
	r.Edits++
	if r.o.Edit != nil {
		if err := r.o.Edit(off, len(rec), &e); err != nil {
			return err
		}
	}
	if err := r.applyComparator(off, &e); err != nil {
		return err
	}
	if e.HasLogNum {
		r.LogNum, r.HasLogNum = e.LogNum, true
	}
	if e.HasPrevLogNum {
		r.PrevLogNum, r.HasPrevLogNum = e.PrevLogNum, true
	}
	if e.HasNextFileNum {
		r.NextFileNum, r.HasNextFileNum = e.NextFileNum, true
	}
	if e.HasLastSeq {
		r.LastSeq, r.HasLastSeq = e.LastSeq, true
	}
	for _, cp := range e.CompactPointers {
		r.CompactPointers[cp.Level] = cp.Key
	}
	return r.b.applyEach(&e, func(p *ReplayProblem) error {
		p.Offset = off
		return r.problem(p)
	})
}

// applyComparator checks the comparator e names, if any, and records it.
func (r *Replay) applyComparator(off int64, e *VersionEdit) error {
	if !e.HasComparator {
		return nil
	}
	want := r.o.Comparator.User.Name()
	if r.o.AnyComparator {
		want = r.Comparator // "" before any edit named one
	}
	if want != "" && e.Comparator != want {
		if err := r.problem(&ReplayProblem{Kind: ProblemComparator, Offset: off, Comparator: e.Comparator, Want: want,
			Reason: fmt.Sprintf("edit names comparator %q, not %q", e.Comparator, want)}); err != nil {
			return err
		}
	}
	r.Comparator, r.HasComparator = e.Comparator, true
	r.b.unordered = e.Comparator != r.o.Comparator.User.Name()
	return nil
}

// Finish returns the Version the edits lead to, after checking what recovery checks at the
// end: that no two files of a level from 1 down overlap, and that the next file number, the
// log number and the last sequence number were recorded. The Replay must not be used after.
func (r *Replay) Finish() (*Version, error) {
	v, err := r.b.buildEach(r.problem)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		has  bool
		name string
	}{{r.HasNextFileNum, "next-file-number"}, {r.HasLogNum, "log-number"}, {r.HasLastSeq, "last-sequence"}} {
		if c.has {
			continue
		}
		if err := r.problem(&ReplayProblem{Kind: ProblemNoCounter, Offset: dberr.NoOffset, Counter: c.name, Edits: r.Edits,
			Reason: fmt.Sprintf("no %s entry in %d records", c.name, r.Edits)}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// problem passes p to the tolerant caller, or turns it into the strict replay's error.
func (r *Replay) problem(p *ReplayProblem) error {
	if r.o.Problem != nil {
		return r.o.Problem(p)
	}
	switch p.Kind {
	case ProblemUndecodable:
		return p.Err
	case ProblemComparator:
		return dberr.InvalidArgf("%s was written with comparator %q, but the database is opened with comparator %q",
			r.path, p.Comparator, p.Want)
	}
	return dberr.Corruptf(r.path, p.Offset, "%v", p)
}
