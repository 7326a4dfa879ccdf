// Package prefetch asks the CPU to bring memory into its caches ahead of use.
//
// Invariant: Line has no effect a program can observe but time. It reads nothing into the
// program, faults on no address, and orders nothing; so it may be given any address, and the
// race detector need not see it. On amd64 it is the PREFETCHT0 instruction, behind a call into
// assembly (a few cycles); elsewhere it does nothing.
package prefetch
