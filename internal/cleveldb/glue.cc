//go:build cleveldb

// glue.cc implements glue.h over leveldb 1.23's C++ API (leveldb's own c.h lacks raw tables,
// filter-policy wrappers and allocation-free reads, which the tests and benchmarks need).
//
// Thread-safety: a strata_db may be used from many threads at once (leveldb::DB is
// thread-safe); a strata_scratch, strata_iter, strata_table_builder or strata_table belongs
// to one thread at a time.

#include "glue.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "leveldb/cache.h"
#include "leveldb/comparator.h"
#include "leveldb/db.h"
#include "leveldb/env.h"
#include "leveldb/filter_policy.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/slice.h"
#include "leveldb/status.h"
#include "leveldb/table.h"
#include "leveldb/table_builder.h"
#include "leveldb/write_batch.h"

// Table::InternalGet (filter, then index, then one block) is private; leveldb lets its
// TableCache call it through `friend class TableCache`. This translation unit declares a class
// of that name holding one static forwarding function, so that tests can make C++ leveldb use a
// raw table's filter the way a DB read does. The class has no data, no virtual functions and a
// member name leveldb's own TableCache does not have, so no symbol of the library is shadowed.
namespace leveldb {
class TableCache {
 public:
  static Status StrataInternalGet(Table* t, const ReadOptions& ro, const Slice& k, void* arg,
                                  void (*fn)(void*, const Slice&, const Slice&)) {
    return t->InternalGet(ro, k, arg, fn);
  }
};
}  // namespace leveldb

namespace {

using leveldb::Slice;
using leveldb::Status;

// ---- errors ----

int CodeOf(const Status& s) {
  if (s.ok()) return STRATA_OK;
  if (s.IsNotFound()) return STRATA_NOT_FOUND;
  if (s.IsCorruption()) return STRATA_CORRUPTION;
  if (s.IsNotSupportedError()) return STRATA_NOT_SUPPORTED;
  if (s.IsInvalidArgument()) return STRATA_INVALID_ARGUMENT;
  return STRATA_IO_ERROR;
}

char* CopyString(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// Report stores s's message in *err when s is not ok, and returns s's code.
int Report(const Status& s, char** err) {
  int code = CodeOf(s);
  if (code != STRATA_OK) *err = CopyString(s.ToString());
  return code;
}

// ---- encodings ----

// GetVarint32 decodes a varint32 from [*p, limit) and advances *p; false on malformed input.
bool GetVarint32(const char** p, const char* limit, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && *p < limit; shift += 7) {
    uint32_t byte = static_cast<unsigned char>(**p);
    (*p)++;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

// GetSlice decodes a varint32 length and that many bytes.
bool GetSlice(const char** p, const char* limit, Slice* s) {
  uint32_t n;
  if (!GetVarint32(p, limit, &n) || static_cast<size_t>(limit - *p) < n) return false;
  *s = Slice(*p, n);
  *p += n;
  return true;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void PutFixed64(std::string* dst, uint64_t v) {
  for (int i = 0; i < 8; i++) dst->push_back(static_cast<char>(v >> (8 * i)));
}

// ---- internal keys ----

constexpr size_t kTrailerLen = 8;
// kMaxSequenceNumber << 8 | kValueTypeForSeek, as leveldb's dbformat.h packs it.
constexpr uint64_t kSeekTrailer = ((uint64_t{1} << 56) - 1) << 8 | 1;

// UserKey strips the 8-byte trailer. A key shorter than a trailer (never written by the code
// here, but possibly read from a broken file) is treated as a bare user key.
Slice UserKey(const Slice& ikey) {
  if (ikey.size() < kTrailerLen) return ikey;
  return Slice(ikey.data(), ikey.size() - kTrailerLen);
}

uint64_t TrailerOf(const Slice& ikey) {
  if (ikey.size() < kTrailerLen) return 0;
  return DecodeFixed64(ikey.data() + ikey.size() - kTrailerLen);
}

// InternalKeyComparator orders internal keys the way leveldb's db/dbformat.h class of the same
// name does over the bytewise user order: user key ascending, then trailer (seq<<8|kind)
// descending. Separators shorten the user key and then take the largest trailer, so that they
// sort before every real entry of the shortened user key.
class InternalKeyComparator : public leveldb::Comparator {
 public:
  const char* Name() const override { return "leveldb.InternalKeyComparator"; }

  int Compare(const Slice& a, const Slice& b) const override {
    int r = user_->Compare(UserKey(a), UserKey(b));
    if (r != 0) return r;
    uint64_t ta = TrailerOf(a), tb = TrailerOf(b);
    if (ta > tb) return -1;
    if (ta < tb) return 1;
    return 0;
  }

  void FindShortestSeparator(std::string* start, const Slice& limit) const override {
    Slice ustart = UserKey(*start);
    std::string tmp(ustart.data(), ustart.size());
    user_->FindShortestSeparator(&tmp, UserKey(limit));
    Shorten(start, ustart, &tmp);
  }

  void FindShortSuccessor(std::string* key) const override {
    Slice ukey = UserKey(*key);
    std::string tmp(ukey.data(), ukey.size());
    user_->FindShortSuccessor(&tmp);
    Shorten(key, ukey, &tmp);
  }

 private:
  // Shorten replaces *key with tmp + seek trailer when tmp is a strictly larger, shorter user
  // key than user (the user-key part of *key).
  void Shorten(std::string* key, const Slice& user, std::string* tmp) const {
    if (tmp->size() < user.size() && user_->Compare(user, *tmp) < 0) {
      PutFixed64(tmp, kSeekTrailer);
      key->swap(*tmp);
    }
  }

  const leveldb::Comparator* user_ = leveldb::BytewiseComparator();
};

// AnyOrderComparator lets TableBuilder take keys in any order (its debug assertions only ask
// that each key compare greater than the previous one) and never shortens index keys. It exists
// to write the out-of-order broken fixture; reading such a table with it is meaningless.
class AnyOrderComparator : public leveldb::Comparator {
 public:
  const char* Name() const override { return "strata.test.AnyOrder"; }
  int Compare(const Slice& a, const Slice& b) const override { return a == b ? 0 : 1; }
  void FindShortestSeparator(std::string*, const Slice&) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

const leveldb::Comparator* ComparatorFor(int which) {
  static const InternalKeyComparator* internal = new InternalKeyComparator;
  static const AnyOrderComparator* any = new AnyOrderComparator;
  switch (which) {
    case STRATA_CMP_INTERNAL:
      return internal;
    case STRATA_CMP_ANY_ORDER:
      return any;
    default:
      return leveldb::BytewiseComparator();
  }
}

// ---- filter policies ----

// WrappingFilterPolicy owns another policy and keeps its name, so that the filters it writes
// and reads are interchangeable with those of anyone using that name.
class WrappingFilterPolicy : public leveldb::FilterPolicy {
 public:
  explicit WrappingFilterPolicy(const leveldb::FilterPolicy* inner) : inner_(inner) {}
  ~WrappingFilterPolicy() override { delete inner_; }

  const char* Name() const override { return inner_->Name(); }

 protected:
  const leveldb::FilterPolicy* inner_;
};

// InternalFilterPolicy applies a user-key policy to internal keys by stripping their trailer,
// as leveldb's DB does internally, under the user policy's name, so that its filters are
// interchangeable with the DB's.
class InternalFilterPolicy : public WrappingFilterPolicy {
 public:
  using WrappingFilterPolicy::WrappingFilterPolicy;

  void CreateFilter(const Slice* keys, int n, std::string* dst) const override {
    std::vector<Slice> user(keys, keys + n);
    for (Slice& k : user) k = UserKey(k);
    inner_->CreateFilter(user.data(), n, dst);
  }

  bool KeyMayMatch(const Slice& key, const Slice& filter) const override {
    return inner_->KeyMayMatch(UserKey(key), filter);
  }
};

// CountingFilterPolicy delegates to another policy under the same name, so it reads filters
// that anyone wrote under that name, and counts the KeyMayMatch calls and how many of them
// returned false (a key the filter ruled out).
class CountingFilterPolicy : public WrappingFilterPolicy {
 public:
  using WrappingFilterPolicy::WrappingFilterPolicy;

  void CreateFilter(const Slice* keys, int n, std::string* dst) const override {
    inner_->CreateFilter(keys, n, dst);
  }

  bool KeyMayMatch(const Slice& key, const Slice& filter) const override {
    bool r = inner_->KeyMayMatch(key, filter);
    calls_.fetch_add(1, std::memory_order_relaxed);
    if (!r) negatives_.fetch_add(1, std::memory_order_relaxed);
    return r;
  }

  void Stats(int64_t* calls, int64_t* negatives) const {
    *calls = calls_.load(std::memory_order_relaxed);
    *negatives = negatives_.load(std::memory_order_relaxed);
  }

 private:
  mutable std::atomic<int64_t> calls_{0};
  mutable std::atomic<int64_t> negatives_{0};
};

// ---- options ----

// DBOptions owns the objects a leveldb::Options points to; it must outlive any DB opened with
// opt.
struct DBOptions {
  leveldb::Options opt;
  leveldb::ReadOptions ro;
  leveldb::Cache* cache = nullptr;
  const leveldb::FilterPolicy* policy = nullptr;
  const CountingFilterPolicy* counting = nullptr;

  explicit DBOptions(const strata_db_options* o) {
    opt.create_if_missing = o->create_if_missing != 0;
    opt.error_if_exists = o->error_if_exists != 0;
    opt.paranoid_checks = o->paranoid_checks != 0;
    opt.compression = o->compression ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    if (o->write_buffer_size > 0) opt.write_buffer_size = o->write_buffer_size;
    if (o->block_size > 0) opt.block_size = o->block_size;
    if (o->max_open_files > 0) opt.max_open_files = static_cast<int>(o->max_open_files);
    if (o->max_file_size > 0) opt.max_file_size = o->max_file_size;
    if (o->block_restart_interval > 0) {
      opt.block_restart_interval = static_cast<int>(o->block_restart_interval);
    }
    if (o->block_cache_size > 0) {
      cache = leveldb::NewLRUCache(o->block_cache_size);
      opt.block_cache = cache;
    }
    if (o->bloom_bits_per_key > 0) {
      policy = leveldb::NewBloomFilterPolicy(o->bloom_bits_per_key);
      if (o->count_filter) policy = counting = new CountingFilterPolicy(policy);
      opt.filter_policy = policy;
    }
    ro.verify_checksums = o->verify_checksums != 0;
  }

  ~DBOptions() {
    delete policy;
    delete cache;
  }
};

// TableOptions owns the filter policy of a raw table writer or reader.
struct TableOptions {
  leveldb::Options opt;
  leveldb::ReadOptions ro;
  const leveldb::FilterPolicy* policy = nullptr;
  const CountingFilterPolicy* counting = nullptr;

  explicit TableOptions(const strata_table_options* o) {
    opt.comparator = ComparatorFor(o->comparator);
    opt.compression = o->compression ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    opt.paranoid_checks = o->paranoid_checks != 0;
    if (o->block_size > 0) opt.block_size = o->block_size;
    if (o->block_restart_interval > 0) {
      opt.block_restart_interval = static_cast<int>(o->block_restart_interval);
    }
    if (o->bloom_bits_per_key > 0) {
      const leveldb::FilterPolicy* p = leveldb::NewBloomFilterPolicy(o->bloom_bits_per_key);
      if (o->comparator == STRATA_CMP_INTERNAL) p = new InternalFilterPolicy(p);
      policy = counting = new CountingFilterPolicy(p);
      opt.filter_policy = policy;
    }
    ro.verify_checksums = o->verify_checksums != 0;
    ro.fill_cache = false;
  }

  ~TableOptions() { delete policy; }
};

void Stats(const CountingFilterPolicy* c, int64_t* calls, int64_t* negatives) {
  if (c == nullptr) {
    *calls = *negatives = 0;
    return;
  }
  c->Stats(calls, negatives);
}

strata_iter* WrapIter(leveldb::Iterator* rep) {
  strata_iter* it = new strata_iter{};
  it->rep = rep;
  return it;
}

}  // namespace

struct strata_db {
  explicit strata_db(const strata_db_options* o) : opts(o) {}
  DBOptions opts;
  leveldb::DB* db = nullptr;
};

struct strata_scratch {
  std::string value;
  leveldb::WriteBatch batch;
};

struct strata_table_builder {
  explicit strata_table_builder(const strata_table_options* o) : opts(o) {}
  TableOptions opts;
  leveldb::WritableFile* file = nullptr;
  leveldb::TableBuilder* builder = nullptr;
  bool done = false;
};

struct strata_table {
  explicit strata_table(const strata_table_options* o) : opts(o) {}
  TableOptions opts;
  leveldb::RandomAccessFile* file = nullptr;
  leveldb::Table* table = nullptr;
  std::string key, value;  // the last lookup's entry
  bool called = false;
};

extern "C" {

// ---- DB ----

strata_db* strata_db_open(const char* dir, size_t dir_len, const strata_db_options* o,
                          int* code, char** err) {
  strata_db* d = new strata_db(o);
  Status s = leveldb::DB::Open(d->opts.opt, std::string(dir, dir_len), &d->db);
  *code = Report(s, err);
  if (*code != STRATA_OK) {
    delete d;
    return nullptr;
  }
  return d;
}

void strata_db_close(strata_db* d) {
  delete d->db;  // before the options it points to
  delete d;
}

int strata_db_put(strata_db* d, const char* k, size_t kl, const char* v, size_t vl, int sync,
                  char** err) {
  leveldb::WriteOptions wo;
  wo.sync = sync != 0;
  return Report(d->db->Put(wo, Slice(k, kl), Slice(v, vl)), err);
}

int strata_db_delete(strata_db* d, const char* k, size_t kl, int sync, char** err) {
  leveldb::WriteOptions wo;
  wo.sync = sync != 0;
  return Report(d->db->Delete(wo, Slice(k, kl)), err);
}

int strata_db_write(strata_db* d, strata_scratch* s, const char* rep, size_t len, int sync,
                    char** err) {
  s->batch.Clear();
  const char* p = rep;
  const char* limit = rep + len;
  while (p < limit) {
    char tag = *p++;
    Slice k, v;
    if (!GetSlice(&p, limit, &k) || (tag == 1 && !GetSlice(&p, limit, &v)) ||
        (tag != 0 && tag != 1)) {
      return Report(Status::InvalidArgument("cleveldb: malformed batch encoding"), err);
    }
    if (tag == 1) {
      s->batch.Put(k, v);
    } else {
      s->batch.Delete(k);
    }
  }
  leveldb::WriteOptions wo;
  wo.sync = sync != 0;
  return Report(d->db->Write(wo, &s->batch), err);
}

int strata_db_get(strata_db* d, strata_scratch* s, const char* k, size_t kl, const char** v,
                  size_t* vl, char** err) {
  Status st = d->db->Get(d->opts.ro, Slice(k, kl), &s->value);
  if (st.IsNotFound()) return STRATA_NOT_FOUND;
  int code = Report(st, err);
  if (code == STRATA_OK) {
    *v = s->value.data();
    *vl = s->value.size();
  }
  return code;
}

strata_iter* strata_db_iter(strata_db* d) { return WrapIter(d->db->NewIterator(d->opts.ro)); }

void strata_db_compact_range(strata_db* d, const char* start, size_t sl, int has_start,
                             const char* limit, size_t ll, int has_limit) {
  Slice b(start, sl), e(limit, ll);
  d->db->CompactRange(has_start ? &b : nullptr, has_limit ? &e : nullptr);
}

char* strata_db_property(strata_db* d, const char* name, size_t nl) {
  std::string value;
  if (!d->db->GetProperty(Slice(name, nl), &value)) return nullptr;
  return CopyString(value);
}

void strata_db_approximate_sizes(strata_db* d, const char* keys, const int64_t* offs, int n,
                                 uint64_t* sizes) {
  std::vector<leveldb::Range> ranges(n);
  for (int i = 0; i < n; i++) {
    ranges[i].start = Slice(keys + offs[2 * i], offs[2 * i + 1] - offs[2 * i]);
    ranges[i].limit = Slice(keys + offs[2 * i + 1], offs[2 * i + 2] - offs[2 * i + 1]);
  }
  d->db->GetApproximateSizes(ranges.data(), n, sizes);
}

void strata_db_filter_stats(strata_db* d, int64_t* calls, int64_t* negatives) {
  Stats(d->opts.counting, calls, negatives);
}

int strata_repair(const char* dir, size_t dir_len, const strata_db_options* o, char** err) {
  DBOptions opts(o);
  return Report(leveldb::RepairDB(std::string(dir, dir_len), opts.opt), err);
}

int strata_destroy(const char* dir, size_t dir_len, const strata_db_options* o, char** err) {
  DBOptions opts(o);
  return Report(leveldb::DestroyDB(std::string(dir, dir_len), opts.opt), err);
}

strata_scratch* strata_scratch_new(void) { return new strata_scratch; }

void strata_scratch_free(strata_scratch* s) { delete s; }

// ---- iterators ----

void strata_iter_move(strata_iter* it, int op, const char* k, size_t kl) {
  auto* rep = static_cast<leveldb::Iterator*>(it->rep);
  switch (op) {
    case STRATA_SEEK_FIRST:
      rep->SeekToFirst();
      break;
    case STRATA_SEEK_LAST:
      rep->SeekToLast();
      break;
    case STRATA_SEEK:
      rep->Seek(Slice(k, kl));
      break;
    case STRATA_NEXT:
      rep->Next();
      break;
    case STRATA_PREV:
      rep->Prev();
      break;
  }
  it->valid = rep->Valid() ? 1 : 0;
  if (it->valid) {
    Slice key = rep->key(), value = rep->value();
    it->key = key.data();
    it->key_len = key.size();
    it->value = value.data();
    it->value_len = value.size();
  } else {
    it->key = it->value = nullptr;
    it->key_len = it->value_len = 0;
  }
}

int strata_iter_status(strata_iter* it, char** err) {
  return Report(static_cast<leveldb::Iterator*>(it->rep)->status(), err);
}

void strata_iter_free(strata_iter* it) {
  delete static_cast<leveldb::Iterator*>(it->rep);
  delete it;
}

// ---- table builder ----

strata_table_builder* strata_table_builder_new(const char* path, size_t pl,
                                               const strata_table_options* o, int* code,
                                               char** err) {
  strata_table_builder* b = new strata_table_builder(o);
  Status s = leveldb::Env::Default()->NewWritableFile(std::string(path, pl), &b->file);
  *code = Report(s, err);
  if (*code != STRATA_OK) {
    delete b;
    return nullptr;
  }
  b->builder = new leveldb::TableBuilder(b->opts.opt, b->file);
  return b;
}

int strata_table_builder_add(strata_table_builder* b, const char* packed, size_t len,
                             char** err) {
  const char* p = packed;
  const char* limit = packed + len;
  while (p < limit) {
    Slice k, v;
    if (!GetSlice(&p, limit, &k) || !GetSlice(&p, limit, &v)) {
      return Report(Status::InvalidArgument("cleveldb: malformed table entries"), err);
    }
    b->builder->Add(k, v);
  }
  return Report(b->builder->status(), err);
}

int strata_table_builder_finish(strata_table_builder* b, uint64_t* size, char** err) {
  b->done = true;
  Status s = b->builder->Finish();
  if (s.ok()) s = b->file->Sync();
  Status c = b->file->Close();
  if (s.ok()) s = c;
  *size = b->builder->FileSize();
  return Report(s, err);
}

void strata_table_builder_free(strata_table_builder* b) {
  if (b->builder != nullptr && !b->done) b->builder->Abandon();
  delete b->builder;
  delete b->file;
  delete b;
}

// ---- table reader ----

strata_table* strata_table_open(const char* path, size_t pl, const strata_table_options* o,
                                int* code, char** err) {
  strata_table* t = new strata_table(o);
  std::string name(path, pl);
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t size = 0;
  Status s = env->GetFileSize(name, &size);
  if (s.ok()) s = env->NewRandomAccessFile(name, &t->file);
  if (s.ok()) s = leveldb::Table::Open(t->opts.opt, t->file, size, &t->table);
  *code = Report(s, err);
  if (*code != STRATA_OK) {
    strata_table_close(t);
    return nullptr;
  }
  return t;
}

strata_iter* strata_table_iter(strata_table* t) {
  return WrapIter(t->table->NewIterator(t->opts.ro));
}

static void SaveEntry(void* arg, const Slice& k, const Slice& v) {
  strata_table* t = static_cast<strata_table*>(arg);
  t->key.assign(k.data(), k.size());
  t->value.assign(v.data(), v.size());
  t->called = true;
}

int strata_table_lookup(strata_table* t, const char* k, size_t kl, int* called, const char** rk,
                        size_t* rkl, const char** rv, size_t* rvl, char** err) {
  t->called = false;
  Status s = leveldb::TableCache::StrataInternalGet(t->table, t->opts.ro, Slice(k, kl), t,
                                                     SaveEntry);
  *called = t->called ? 1 : 0;
  if (t->called) {
    *rk = t->key.data();
    *rkl = t->key.size();
    *rv = t->value.data();
    *rvl = t->value.size();
  }
  return Report(s, err);
}

uint64_t strata_table_approximate_offset(strata_table* t, const char* k, size_t kl) {
  return t->table->ApproximateOffsetOf(Slice(k, kl));
}

void strata_table_filter_stats(strata_table* t, int64_t* calls, int64_t* negatives) {
  Stats(t->opts.counting, calls, negatives);
}

void strata_table_close(strata_table* t) {
  delete t->table;  // before the file and the options it uses
  delete t->file;
  delete t;
}

}  // extern "C"
