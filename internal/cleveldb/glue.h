//go:build cleveldb

// glue.h declares the C functions that glue.cc implements over leveldb's C++ API. Only the Go
// files of package cleveldb call them.
//
// Conventions:
//   - Byte strings are passed as (pointer, length); a NULL pointer with length 0 is the empty
//     string. No function keeps a pointer it was given after it returns.
//   - A function that can fail returns a strata_code (STRATA_OK = 0) and, on failure, stores a
//     malloc'ed copy of leveldb's Status::ToString() in *err; the caller frees it. Nothing is
//     allocated on success.
//   - Objects returned by *_new/*_open are owned by the caller and released by the matching
//     *_free/*_close function exactly once.

#ifndef STRATA_CLEVELDB_GLUE_H_
#define STRATA_CLEVELDB_GLUE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Status kinds, mirroring leveldb::Status.
enum {
  STRATA_OK = 0,
  STRATA_NOT_FOUND = 1,
  STRATA_CORRUPTION = 2,
  STRATA_NOT_SUPPORTED = 3,
  STRATA_INVALID_ARGUMENT = 4,
  STRATA_IO_ERROR = 5,
};

// Key orders a raw table can be written or read with.
enum {
  STRATA_CMP_BYTEWISE = 0,   // leveldb::BytewiseComparator()
  STRATA_CMP_INTERNAL = 1,   // leveldb's InternalKeyComparator over bytewise user keys
  STRATA_CMP_ANY_ORDER = 2,  // accepts keys in any order; writing broken fixtures only
};

// Iterator moves, for strata_iter_move.
enum {
  STRATA_SEEK_FIRST = 0,
  STRATA_SEEK_LAST = 1,
  STRATA_SEEK = 2,
  STRATA_NEXT = 3,
  STRATA_PREV = 4,
};

// strata_db_options mirrors leveldb::Options for a DB. Zero numeric fields keep leveldb's
// defaults.
typedef struct strata_db_options {
  int create_if_missing;
  int error_if_exists;
  int paranoid_checks;
  int compression;  // 0 = kNoCompression, 1 = kSnappyCompression
  int64_t write_buffer_size;
  int64_t block_size;
  int64_t max_open_files;
  int64_t max_file_size;
  int64_t block_restart_interval;
  int64_t block_cache_size;  // 0 = leveldb's own 8 MiB cache
  int bloom_bits_per_key;    // 0 = no filter policy
  int count_filter;          // wrap the bloom policy in a counting one
  int verify_checksums;      // ReadOptions.verify_checksums for Get and iterators
} strata_db_options;

// strata_table_options configures a raw table writer or reader.
typedef struct strata_table_options {
  int compression;
  int bloom_bits_per_key;  // 0 = no filter policy
  int comparator;          // STRATA_CMP_*
  int64_t block_size;
  int64_t block_restart_interval;
  int paranoid_checks;
  int verify_checksums;
} strata_table_options;

// strata_iter is an iterator over a DB or a table. strata_iter_move refreshes the public fields
// after every move; key and value point into leveldb's memory and stay valid until the next
// move or strata_iter_free.
typedef struct strata_iter {
  const char* key;
  size_t key_len;
  const char* value;
  size_t value_len;
  int valid;
  void* rep;  // leveldb::Iterator*
} strata_iter;

typedef struct strata_db strata_db;
typedef struct strata_scratch strata_scratch;
typedef struct strata_table_builder strata_table_builder;
typedef struct strata_table strata_table;

// DB.
strata_db* strata_db_open(const char* dir, size_t dir_len, const strata_db_options* o,
                          int* code, char** err);
void strata_db_close(strata_db* db);
int strata_db_put(strata_db* db, const char* k, size_t kl, const char* v, size_t vl, int sync,
                  char** err);
int strata_db_delete(strata_db* db, const char* k, size_t kl, int sync, char** err);
// strata_db_write applies the ops in rep as one leveldb::WriteBatch. rep is a sequence of
// records: tag 1 (put) varint32 klen, key, varint32 vlen, value; tag 0 (delete) varint32 klen,
// key. The batch is built in scratch, which is reused across calls.
int strata_db_write(strata_db* db, strata_scratch* s, const char* rep, size_t len, int sync,
                    char** err);
// strata_db_get stores the value in scratch and points *v at it; valid until scratch is used
// again. Returns STRATA_NOT_FOUND (and no message) when the key is absent.
int strata_db_get(strata_db* db, strata_scratch* s, const char* k, size_t kl, const char** v,
                  size_t* vl, char** err);
strata_iter* strata_db_iter(strata_db* db);
void strata_db_compact_range(strata_db* db, const char* start, size_t sl, int has_start,
                             const char* limit, size_t ll, int has_limit);
// strata_db_property returns a malloc'ed, NUL-terminated value, or NULL for an unknown name.
char* strata_db_property(strata_db* db, const char* name, size_t nl);
// strata_db_approximate_sizes: keys holds the 2n range bounds back to back; bound i is
// keys[offs[i]:offs[i+1]] (start of range j is bound 2j, limit is 2j+1).
void strata_db_approximate_sizes(strata_db* db, const char* keys, const int64_t* offs, int n,
                                 uint64_t* sizes);
void strata_db_filter_stats(strata_db* db, int64_t* calls, int64_t* negatives);
int strata_repair(const char* dir, size_t dir_len, const strata_db_options* o, char** err);
int strata_destroy(const char* dir, size_t dir_len, const strata_db_options* o, char** err);

// Scratch buffers for Get and Write, reused to keep calls free of allocations.
strata_scratch* strata_scratch_new(void);
void strata_scratch_free(strata_scratch* s);

// Iterators.
void strata_iter_move(strata_iter* it, int op, const char* k, size_t kl);
int strata_iter_status(strata_iter* it, char** err);
void strata_iter_free(strata_iter* it);

// Table builder. strata_table_builder_add takes entries packed as varint32 klen, key,
// varint32 vlen, value, back to back.
strata_table_builder* strata_table_builder_new(const char* path, size_t pl,
                                               const strata_table_options* o, int* code,
                                               char** err);
int strata_table_builder_add(strata_table_builder* b, const char* packed, size_t len,
                             char** err);
int strata_table_builder_finish(strata_table_builder* b, uint64_t* size, char** err);
// strata_table_builder_free abandons the table if it was not finished.
void strata_table_builder_free(strata_table_builder* b);

// Table reader.
strata_table* strata_table_open(const char* path, size_t pl, const strata_table_options* o,
                                int* code, char** err);
strata_iter* strata_table_iter(strata_table* t);
// strata_table_lookup runs Table::InternalGet: filter, index, one data block. *called is 1 when
// leveldb handed back an entry (the first one at or after k in the chosen block), which is then
// copied into the table and pointed to by *rk/*rv until the next lookup.
int strata_table_lookup(strata_table* t, const char* k, size_t kl, int* called, const char** rk,
                        size_t* rkl, const char** rv, size_t* rvl, char** err);
uint64_t strata_table_approximate_offset(strata_table* t, const char* k, size_t kl);
void strata_table_filter_stats(strata_table* t, int64_t* calls, int64_t* negatives);
void strata_table_close(strata_table* t);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // STRATA_CLEVELDB_GLUE_H_
