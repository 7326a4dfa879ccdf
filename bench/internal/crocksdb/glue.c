//go:build crocksdb

// glue.c implements glue.h over RocksDB's C API.

#include "glue.h"

#include <stdlib.h>

void strata_rocks_write_rep(rocksdb_t* db, const rocksdb_writeoptions_t* wo, const char* rep,
                            size_t n, char** err) {
  rocksdb_writebatch_t* b = rocksdb_writebatch_create_from(rep, n);
  rocksdb_write(db, wo, b, err);
  rocksdb_writebatch_destroy(b);
}

strata_rocks_iter* strata_rocks_iter_new(rocksdb_t* db, const rocksdb_readoptions_t* ro) {
  strata_rocks_iter* i = calloc(1, sizeof(strata_rocks_iter));
  if (i == NULL) {
    return NULL;
  }
  i->it = rocksdb_create_iterator(db, ro);
  return i;
}

void strata_rocks_iter_move(strata_rocks_iter* i, int op, const char* k, size_t n) {
  switch (op) {
    case STRATA_FIRST:
      rocksdb_iter_seek_to_first(i->it);
      break;
    case STRATA_LAST:
      rocksdb_iter_seek_to_last(i->it);
      break;
    case STRATA_SEEK:
      rocksdb_iter_seek(i->it, k, n);
      break;
    case STRATA_NEXT:
      rocksdb_iter_next(i->it);
      break;
    case STRATA_PREV:
      rocksdb_iter_prev(i->it);
      break;
  }
  i->valid = rocksdb_iter_valid(i->it);
  if (i->valid) {
    i->key = rocksdb_iter_key(i->it, &i->key_len);
    i->value = rocksdb_iter_value(i->it, &i->value_len);
  }
}

char* strata_rocks_iter_status(strata_rocks_iter* i) {
  char* err = NULL;
  rocksdb_iter_get_error(i->it, &err);
  return err;
}

void strata_rocks_iter_free(strata_rocks_iter* i) {
  rocksdb_iter_destroy(i->it);
  free(i);
}
