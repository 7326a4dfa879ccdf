package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The pipe from a --kill child to its parent. The child reports, one line each:
//
//	open                    its Open returned
//	p T I.V+ I.V- ...       thread T begins a write: of version V of key I, a put (+) or a delete (-)
//	a T                     thread T's write returned: it is acknowledged
//	x T                     thread T's write was withdrawn: nothing was written (a transaction gave up)
//	s N N N ...             its counters so far (statNames)
//	v TEXT                  a read found a violation
//	e TEXT                  an operation failed with an error
//	done                    its time or operations were up: it closed the DB and exits
//
// A line is one write(2) of at most pipeLineMax bytes, under PIPE_BUF (4096 on Linux, 512 by
// POSIX; a batch's line is about 350 bytes), so it arrives whole or, when the kill came first,
// not at all. The child writes a write's p line before the write begins and its a line after it
// returned: so for every key the parent knows the last acknowledged write and the one in flight,
// and after the kill the key must hold one of them (and a write in flight whole or not at all).
// The parent applies the lines to its expected state as they arrive.

// pipeLineMax bounds a line: messages are cut to fit.
const pipeLineMax = 3000

// exitParentGone is the status of a child whose parent closed the pipe.
const exitParentGone = 3

// reporter is the child's end of the pipe. A nil reporter (no --kill) reports nothing. It is safe
// for concurrent use: each line is one Write, and os.File serializes them.
type reporter struct{ f *os.File }

func (r *reporter) send(line []byte) {
	if r == nil {
		return
	}
	if _, err := r.f.Write(line); err != nil {
		os.Exit(exitParentGone) // the parent is gone: nobody checks this child's work
	}
}

func (r *reporter) sendText(kind byte, msg string) {
	if r == nil {
		return
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	if len(msg) > pipeLineMax {
		msg = msg[:pipeLineMax] + "..."
	}
	r.send([]byte(string(kind) + " " + msg + "\n"))
}

func (r *reporter) intent(t int, es []entry) {
	if r == nil {
		return
	}
	b := append(make([]byte, 0, 8+len(es)*24), 'p', ' ')
	b = strconv.AppendInt(b, int64(t), 10)
	for _, e := range es {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(e.i), 10)
		b = append(b, '.')
		b = strconv.AppendUint(b, e.v, 10)
		b = append(b, "-+"[btoi(e.put)])
	}
	r.send(append(b, '\n'))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *reporter) ack(t int)      { r.sendThread('a', t) }
func (r *reporter) withdraw(t int) { r.sendThread('x', t) }

func (r *reporter) sendThread(kind byte, t int) {
	if r == nil {
		return
	}
	r.send(append(strconv.AppendInt([]byte{kind, ' '}, int64(t), 10), '\n'))
}

func (r *reporter) violation(msg string) { r.sendText('v', msg) }
func (r *reporter) err(msg string)       { r.sendText('e', msg) }

func (r *reporter) stats(v []int64) {
	if r == nil {
		return
	}
	b := []byte{'s'}
	for _, n := range v {
		b = append(b, ' ')
		b = strconv.AppendInt(b, n, 10)
	}
	r.send(append(b, '\n'))
}

// parseIntent parses the entries of a p line (after "p T ").
func parseIntent(fields []string) ([]entry, error) {
	es := make([]entry, 0, len(fields))
	for _, f := range fields {
		if len(f) < 4 || (f[len(f)-1] != '+' && f[len(f)-1] != '-') {
			return nil, fmt.Errorf("bad entry %q", f)
		}
		a, b, ok := strings.Cut(f[:len(f)-1], ".")
		i, err1 := strconv.Atoi(a)
		v, err2 := strconv.ParseUint(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad entry %q", f)
		}
		es = append(es, entry{i: i, v: v, put: f[len(f)-1] == '+'})
	}
	return es, nil
}
