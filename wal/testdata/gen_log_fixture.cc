// gen_log_fixture writes the C++ leveldb 1.23 log fixtures that wal's compatibility test reads.
//
// The installed library exposes only the public API, not log::Writer, so the program creates a
// fresh DB with a write buffer far larger than everything it writes (no memtable ever flushes),
// issues a fixed sequence of WriteBatches, closes the DB and copies what leveldb left behind:
//
//   000003.log       one log record per WriteBatch (leveldb 1.23 does not flush on close)
//   MANIFEST-000002  the descriptor of the new DB, in the same log format
//   ops.txt          the batches it wrote, one per line, which the Go test rebuilds on its own
//
// Each batch's size is chosen from the WriteBatch encoding so that the records land on the
// block layout the test wants to see: an empty batch, small records, a record that ends exactly
// on a block boundary, records that leave block tails of 1 to 7 bytes (the 7-byte tail makes the
// next record start with a zero-length FIRST fragment), and a record spanning several blocks. The
// program mirrors the log writer's placement rules to compute those sizes and fails if the file
// leveldb produced is not the length it predicted.
//
// Usage: gen_log_fixture WORKDIR OUTDIR   (WORKDIR must not exist; gen.sh runs it)

#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr uint64_t kBlock = 32768;  // log block size
constexpr uint64_t kHeader = 7;     // checksum 4, length 2, type 1

struct Op {
  bool put;
  std::string key;
  size_t value_len;  // puts only
};

struct Batch {
  std::string label;
  std::vector<Op> ops;
};

void Die(const std::string& msg) {
  std::fprintf(stderr, "gen_log_fixture: %s\n", msg.c_str());
  std::exit(1);
}

size_t VarintLen(uint64_t v) {
  size_t n = 1;
  while (v >= 128) {
    v >>= 7;
    n++;
  }
  return n;
}

// EncodedSize is the length of the batch's serialized form: a 12-byte header (sequence, count)
// and per entry a tag byte, the length-prefixed key and, for puts, the length-prefixed value.
size_t EncodedSize(const Batch& b) {
  size_t n = 12;
  for (const Op& op : b.ops) {
    n += 1 + VarintLen(op.key.size()) + op.key.size();
    if (op.put) n += VarintLen(op.value_len) + op.value_len;
  }
  return n;
}

// ValueBytes is the value of op number op_index of batch number batch_index: the Go test
// computes the same bytes.
std::string ValueBytes(size_t batch_index, size_t op_index, size_t len) {
  std::string v(len, '\0');
  for (size_t j = 0; j < len; j++) v[j] = static_cast<char>('a' + (j + 3 * batch_index + op_index) % 26);
  return v;
}

// LogPosition follows the log writer's placement rules: a block tail shorter than a header is
// padded, and a record is cut into fragments that each take a header.
struct LogPosition {
  uint64_t offset = 0;

  uint64_t InBlock() const { return offset % kBlock; }

  void Add(size_t payload) {
    size_t left = payload;
    do {
      uint64_t room = kBlock - InBlock();
      if (room < kHeader) offset += room;
      uint64_t avail = kBlock - InBlock() - kHeader;
      uint64_t frag = std::min<uint64_t>(left, avail);
      offset += kHeader + frag;
      left -= frag;
    } while (left > 0);
  }
};

// PutOfSize returns a batch holding one put of key whose encoding is exactly payload bytes.
Batch PutOfSize(const std::string& label, const std::string& key, size_t payload) {
  size_t fixed = 12 + 1 + VarintLen(key.size()) + key.size();
  if (payload < fixed + 1) Die("payload too small for " + label);
  size_t rest = payload - fixed;  // value_len + VarintLen(value_len)
  for (size_t vl = rest > 5 ? rest - 5 : 0; vl < rest; vl++) {
    if (vl + VarintLen(vl) == rest) return Batch{label, {Op{true, key, vl}}};
  }
  Die("no value length gives payload for " + label);
  return Batch{};
}

std::string Key(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key-%04d", n);
  return buf;
}

// Plan lists the batches in order, sizing the block-shaping ones from the position so far.
std::vector<Batch> Plan() {
  std::vector<Batch> plan;
  LogPosition pos;
  auto add = [&](Batch b) {
    pos.Add(EncodedSize(b));
    plan.push_back(std::move(b));
  };
  int k = 0;

  add(Batch{"empty", {}});
  add(Batch{"small", {Op{true, Key(++k), 5}}});
  add(Batch{"small", {Op{true, Key(++k), 0}}});
  add(Batch{"small", {Op{true, Key(++k), 10}, Op{false, Key(1), 0}, Op{true, Key(++k), 200}}});

  // A FULL record whose payload ends on the block boundary: no tail at all.
  add(PutOfSize("fill", Key(++k), kBlock - pos.InBlock() - kHeader));
  if (pos.InBlock() != 0) Die("fill did not end on a block boundary");

  // Each of these starts a block and leaves t bytes at its end. For t < 7 the next record's
  // write zero-fills them; for t == 7 the next record starts there with an empty FIRST.
  for (uint64_t t = 1; t <= 7; t++) {
    add(PutOfSize("tail-" + std::to_string(t), Key(++k), kBlock - kHeader - t));
    if (pos.InBlock() != kBlock - t) Die("tail record landed in the wrong place");
  }
  add(Batch{"after-tail-7", {Op{true, Key(++k), 20}}});

  // A record of about 200 KiB starting mid-block: FIRST, several MIDDLEs, LAST.
  add(Batch{"span", {Op{true, Key(++k), 200 * 1024}}});
  add(Batch{"small", {Op{false, Key(k), 0}}});
  add(Batch{"empty", {}});
  add(Batch{"small", {Op{true, Key(++k), 3}}});
  return plan;
}

uint64_t PredictedLogSize(const std::vector<Batch>& plan) {
  LogPosition pos;
  for (const Batch& b : plan) pos.Add(EncodedSize(b));
  return pos.offset;
}

void Check(const leveldb::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) Die("cannot list " + dir);
  while (struct dirent* e = readdir(d)) names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) Die("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) Die("usage: gen_log_fixture WORKDIR OUTDIR");
  const std::string work = argv[1];
  const std::string out = argv[2];
  const std::vector<Batch> plan = Plan();

  leveldb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  options.write_buffer_size = 64 << 20;  // far above the ~450 KiB written: nothing flushes
  leveldb::DB* db = nullptr;
  Check(leveldb::DB::Open(options, work, &db), "open");

  std::ostringstream table;
  table << "# Written by gen_log_fixture.cc: the WriteBatches in 000003.log, in order, one per line.\n"
        << "# Fields: a label, then ops \"put KEY VALUELEN\" or \"del KEY\". Value byte j of op i on\n"
        << "# batch line n (all counted from 0, comments skipped) is 'a' + (j + 3n + i) % 26.\n";
  for (size_t n = 0; n < plan.size(); n++) {
    const Batch& b = plan[n];
    leveldb::WriteBatch wb;
    table << b.label;
    for (size_t i = 0; i < b.ops.size(); i++) {
      const Op& op = b.ops[i];
      if (op.put) {
        wb.Put(op.key, ValueBytes(n, i, op.value_len));
        table << " put " << op.key << " " << op.value_len;
      } else {
        wb.Delete(op.key);
        table << " del " << op.key;
      }
    }
    table << "\n";
    if (wb.ApproximateSize() != EncodedSize(b)) Die("encoded size disagrees for " + b.label);
    Check(db->Write(leveldb::WriteOptions(), &wb), "write " + b.label);
  }
  delete db;

  std::string log_name, manifest_name;
  for (const std::string& name : List(work)) {
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
      if (!log_name.empty()) Die("more than one .log file");
      log_name = name;
    } else if (name.rfind("MANIFEST-", 0) == 0) {
      if (!manifest_name.empty()) Die("more than one MANIFEST");
      manifest_name = name;
    }
  }
  if (log_name != "000003.log" || manifest_name != "MANIFEST-000002") {
    Die("unexpected file names " + log_name + ", " + manifest_name);
  }
  const std::string log = ReadFile(work + "/" + log_name);
  if (log.size() != PredictedLogSize(plan)) {
    Die("log is " + std::to_string(log.size()) + " bytes, predicted " +
        std::to_string(PredictedLogSize(plan)));
  }
  mkdir(out.c_str(), 0755);
  WriteFile(out + "/" + log_name, log);
  WriteFile(out + "/" + manifest_name, ReadFile(work + "/" + manifest_name));
  WriteFile(out + "/ops.txt", table.str());
  std::printf("wrote %s (%zu bytes), %s, ops.txt (%zu batches) to %s\n", log_name.c_str(), log.size(),
              manifest_name.c_str(), plan.size(), out.c_str());
  return 0;
}
