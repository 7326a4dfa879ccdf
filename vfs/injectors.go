package vfs

import (
	"errors"
	"sync/atomic"
)

// ErrInjected is a ready-made error for injectors to return.
var ErrInjected = errors.New("injected error")

// opSet is a set of Ops; the empty set means every Op.
type opSet uint32

func makeOpSet(ops []Op) opSet {
	var s opSet
	for _, op := range ops {
		s |= 1 << op
	}
	return s
}

func (s opSet) has(op Op) bool { return s == 0 || s&(1<<op) != 0 }

// Nth fails the n-th operation (1-based) among a set of Ops, counted across all paths and files,
// once; made Sticky, it fails that one and every later matching operation (a disk that has died).
// It is safe for concurrent use; with concurrent operations, which one is the n-th is whichever
// reaches the injector n-th.
type Nth struct {
	n      int64
	err    error
	ops    opSet
	sticky atomic.Bool
	count  atomic.Int64
}

// OnNth returns an Injector that fails the n-th operation among ops (all ops if none are given)
// with err. n < 1 never fails.
func OnNth(n int64, err error, ops ...Op) *Nth {
	return &Nth{n: n, err: err, ops: makeOpSet(ops)}
}

// Sticky makes the injector also fail every matching operation after the n-th, and returns it.
func (i *Nth) Sticky() *Nth {
	i.sticky.Store(true)
	return i
}

// MaybeError counts op if it matches and returns the error if this is the n-th (or a later one,
// when sticky).
func (i *Nth) MaybeError(op Op, _ string) error {
	if !i.ops.has(op) {
		return nil
	}
	c := i.count.Add(1)
	if i.n >= 1 && (c == i.n || (c > i.n && i.sticky.Load())) {
		return i.err
	}
	return nil
}

// Count returns how many matching operations have been seen, including failed ones.
func (i *Nth) Count() int64 { return i.count.Load() }

// Fired reports whether the injector has failed at least one operation.
func (i *Nth) Fired() bool { return i.n >= 1 && i.count.Load() >= i.n }

// PathFault fails every operation among a set of Ops whose path satisfies a predicate.
type PathFault struct {
	match func(path string) bool
	err   error
	ops   opSet
	hits  atomic.Int64
}

// OnPath returns an Injector that fails, with err, every operation among ops (all ops if none
// are given) whose path makes match return true. match must be safe for concurrent use.
func OnPath(match func(path string) bool, err error, ops ...Op) *PathFault {
	return &PathFault{match: match, err: err, ops: makeOpSet(ops)}
}

// MaybeError returns the error when op and path match.
func (i *PathFault) MaybeError(op Op, path string) error {
	if !i.ops.has(op) || !i.match(path) {
		return nil
	}
	i.hits.Add(1)
	return i.err
}

// Hits returns how many operations have been failed.
func (i *PathFault) Hits() int64 { return i.hits.Load() }

// Counter never fails anything; it counts the operations among a set of Ops. A test counts the N
// operations of a workload with a Counter, then reruns the workload N times with OnNth(k, ...)
// for k = 1..N to fail each one in turn. The zero Counter counts every operation.
type Counter struct {
	ops   opSet
	count atomic.Int64
}

// NewCounter returns a Counter of the operations among ops (all ops if none are given).
func NewCounter(ops ...Op) *Counter {
	return &Counter{ops: makeOpSet(ops)}
}

// MaybeError counts op if it matches and returns nil.
func (c *Counter) MaybeError(op Op, _ string) error {
	if c.ops.has(op) {
		c.count.Add(1)
	}
	return nil
}

// Count returns how many matching operations have been seen.
func (c *Counter) Count() int64 { return c.count.Load() }
