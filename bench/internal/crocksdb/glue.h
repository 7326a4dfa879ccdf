//go:build crocksdb

// glue.h declares the C helpers that glue.c implements over RocksDB's C API, rocksdb/c.h: each
// turns what would be several calls from Go into one. Only the Go files of package crocksdb
// call them.

#ifndef STRATA_CROCKSDB_GLUE_H
#define STRATA_CROCKSDB_GLUE_H

#include <stddef.h>
#include <rocksdb/c.h>

// strata_rocks_write_rep applies the WriteBatch whose encoding is rep[0:n] (header included).
void strata_rocks_write_rep(rocksdb_t* db, const rocksdb_writeoptions_t* wo, const char* rep,
                            size_t n, char** err);

// strata_rocks_iter is an iterator and the state its last move left, which Go reads without a
// call: key and value point into RocksDB's memory while valid is 1.
typedef struct {
  rocksdb_iterator_t* it;
  const char* key;
  size_t key_len;
  const char* value;
  size_t value_len;
  int valid;
} strata_rocks_iter;

// The moves of strata_rocks_iter_move.
enum { STRATA_FIRST, STRATA_LAST, STRATA_SEEK, STRATA_NEXT, STRATA_PREV };

// strata_rocks_iter_new returns an unpositioned iterator over db as of now.
strata_rocks_iter* strata_rocks_iter_new(rocksdb_t* db, const rocksdb_readoptions_t* ro);

// strata_rocks_iter_move makes move op (STRATA_SEEK to k[0:n]) and records where it landed.
void strata_rocks_iter_move(strata_rocks_iter* i, int op, const char* k, size_t n);

// strata_rocks_iter_status returns the iterator's error as a malloc'ed message, or NULL.
char* strata_rocks_iter_status(strata_rocks_iter* i);

// strata_rocks_iter_free destroys the iterator.
void strata_rocks_iter_free(strata_rocks_iter* i);

#endif
