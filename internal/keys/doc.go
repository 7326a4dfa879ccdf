// Package keys defines user-key comparators and leveldb's internal keys.
//
// An internal key is a user key followed by an 8-byte little-endian trailer holding
// seq<<8 | kind. Internal keys order by user key ascending (under the user Comparator), then by
// trailer descending, so the newest entry of a user key comes first. This order is part of the
// on-disk format: memtables, tables and the MANIFEST's key ranges all use it.
//
// Invariants: a Comparator's order and name never change once data is written with it; every
// function here is safe for concurrent use and never panics on malformed keys (a key shorter
// than its trailer is treated as a bare user key, and Parse reports it).
//
// Keys print as `userkey#seq,KIND`, for example `apple#12,SET`, so tests and tools show them the
// same way; ParseDebug reads that form back.
package keys
