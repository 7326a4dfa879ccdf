//go:build cleveldb

package cleveldb

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"errors"
	"sync/atomic"
	"unsafe"
)

// Code is the kind of a leveldb::Status.
type Code int

// The kinds of leveldb::Status that are errors.
const (
	NotFound        Code = C.STRATA_NOT_FOUND
	Corruption      Code = C.STRATA_CORRUPTION
	NotSupported    Code = C.STRATA_NOT_SUPPORTED
	InvalidArgument Code = C.STRATA_INVALID_ARGUMENT
	IOError         Code = C.STRATA_IO_ERROR
)

func (c Code) String() string {
	switch c {
	case NotFound:
		return "NotFound"
	case Corruption:
		return "Corruption"
	case NotSupported:
		return "NotSupported"
	case InvalidArgument:
		return "InvalidArgument"
	case IOError:
		return "IOError"
	}
	return "Unknown"
}

// Error is a failed leveldb::Status: its kind and its ToString() text, for example
// "Corruption: bad block handle".
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return "cleveldb: " + e.Msg }

// IsCorruption reports whether err is a leveldb Corruption status.
func IsCorruption(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == Corruption
}

// ErrClosed is returned by calls on a closed DB or Table.
var ErrClosed = errors.New("cleveldb: closed")

// ErrIteratorsOpen is returned by Close while iterators over the DB or Table are still open.
var ErrIteratorsOpen = errors.New("cleveldb: close with iterators still open")

// statusError turns a code and a malloc'ed message from glue.cc into an error, freeing the
// message.
func statusError(code C.int, msg *C.char) error {
	if code == C.STRATA_OK {
		return nil
	}
	e := &Error{Code: Code(code), Msg: Code(code).String()}
	if msg != nil {
		e.Msg = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	}
	return e
}

// openC calls open, a glue.h constructor that returns nil and reports a status on failure,
// and turns that status into an error.
// P is a pointer to an opaque glue.h type.
func openC[P comparable](open func(code *C.int, msg **C.char) P) (P, error) {
	var code C.int
	var msg *C.char
	c := open(&code, &msg)
	var none P
	if c == none {
		return none, statusError(code, msg)
	}
	return c, nil
}

// checkClose is what Close checks on a DB or Table before releasing it: that it is not closed
// already and that no iterator over it is open.
func checkClose(closed bool, iters *atomic.Int64) error {
	if closed {
		return ErrClosed
	}
	if iters.Load() != 0 {
		return ErrIteratorsOpen
	}
	return nil
}

// cbytes returns the C view of b's data for the duration of a call; nil for an empty slice.
func cbytes(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b)))
}

// cstring is cbytes for a string.
func cstring(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// goView is a Go slice over C memory; it is valid only as long as that memory is.
func goView(p *C.char, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}
