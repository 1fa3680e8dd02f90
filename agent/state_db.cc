#include "agent/state_db.h"

#include <sys/stat.h>

#include <chrono>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool StartsWith(const rocksdb::Slice& s, std::string_view p) {
  return s.size() >= p.size() && std::memcmp(s.data(), p.data(), p.size()) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateDb>> StateDb::Open(const std::string& dir) {
  ::mkdir(dir.c_str(), 0700);
  rocksdb::DBOptions opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.max_background_jobs = 2;
  opts.keep_log_file_num = 3;
  opts.max_total_wal_size = 64 << 20;
  opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 16 << 20;
  cf.max_write_buffer_number = 2;
  cf.OptimizeForPointLookup(8);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, cf}, {"index", cf}, {"outbox", cf}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir + "/db", cfs, &handles, &raw);
  if (!s.ok()) {
    absl::Status st =
        FromRocks(s, absl::StrCat("open agent state database ", PrintablePath(dir), "/db"));
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::UnavailableError(
          absl::StrCat("agent state directory ", PrintablePath(dir),
                       " is locked by another shoebox-agent; stop it or use another state_dir (",
                       s.ToString(), ")"));
    }
    return st;
  }
  std::unique_ptr<StateDb> db(new StateDb());
  db->db_.reset(raw);
  db->handles_ = handles;
  db->meta_ = handles[0];
  db->index_ = handles[1];
  db->outbox_ = handles[2];
  db->dir_ = dir;
  RETURN_IF_ERROR(db->RebuildCounters());
  return db;
}

StateDb::~StateDb() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

absl::Status StateDb::RebuildCounters() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), outbox_));
  uint64_t files = 0, bytes = 0, max_gen = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto e = DecodeOutboxEntry(std::string_view(it->value().data(), it->value().size()));
    if (!e.ok()) continue;  // reported when scanned
    ++files;
    if (e->op == OutboxOp::kUpsert) bytes += e->stat.size;
    max_gen = std::max(max_gen, e->generation);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scan agent outbox"));
  outbox_files_ = files;
  outbox_bytes_ = bytes;
  absl::MutexLock l(&write_mu_);
  next_generation_ = max_gen + 1;
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> StateDb::FolderId(const std::string& root) {
  absl::MutexLock l(&write_mu_);
  std::string key = "folder:" + root;
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, key, &v);
  if (s.ok() && v.size() == 4) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(v[0])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(v[1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(v[2])) << 8) | static_cast<uint8_t>(v[3]);
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read folder id");
  std::string next;
  uint32_t id = 1;
  s = db_->Get(rocksdb::ReadOptions(), meta_, "next_folder_id", &next);
  if (s.ok() && next.size() == 4) {
    id = (static_cast<uint32_t>(static_cast<uint8_t>(next[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(next[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(next[2])) << 8) |
         static_cast<uint8_t>(next[3]);
  }
  rocksdb::WriteBatch b;
  b.Put(meta_, key, FolderPrefix(id));
  b.Put(meta_, "next_folder_id", FolderPrefix(id + 1));
  RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &b), "write folder id"));
  return id;
}

absl::StatusOr<std::optional<std::string>> StateDb::GetMeta(const std::string& key) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, key, &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "read agent meta " + key));
  return std::optional<std::string>(std::move(v));
}

absl::Status StateDb::PutMeta(const std::string& key, const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, meta_, key, value), "write agent meta " + key);
}

absl::StatusOr<std::optional<IndexEntry>> StateDb::GetIndex(uint32_t folder, std::string_view dir,
                                                            std::string_view name) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), index_, MakeKey(folder, dir, name), &v);
  if (s.IsNotFound()) return std::optional<IndexEntry>();
  RETURN_IF_ERROR(FromRocks(s, "read agent index"));
  auto e = DecodeIndexEntry(v);
  if (!e.ok()) return Annotate(e.status(), PrintablePath(JoinRel(dir, name)));
  return std::optional<IndexEntry>(std::move(*e));
}

absl::Status StateDb::ListChildren(uint32_t folder, std::string_view dir,
                                   std::map<std::string, IndexEntry>* out) {
  out->clear();
  std::string prefix = ChildrenPrefix(folder, dir);
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, index_));
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    std::string name(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    auto e = DecodeIndexEntry(std::string_view(it->value().data(), it->value().size()),
                              /*with_chunks=*/false);
    if (!e.ok()) {
      // A corrupt entry is treated as unknown: the path is read again.
      spdlog::warn("agent index entry for {} is corrupt ({}); it will be read again",
                   PrintablePath(JoinRel(dir, name)), std::string(e.status().message()));
      continue;
    }
    out->emplace(std::move(name), std::move(*e));
  }
  return FromRocks(it->status(), "list agent index");
}

absl::Status StateDb::PutDir(uint32_t folder, std::string_view dir, std::string_view name,
                             const FileStat& st) {
  IndexEntry e;
  e.kind = EntryKind::kDir;
  e.stat = st;
  e.state = ReportState::kAcked;
  return FromRocks(
      db_->Put(rocksdb::WriteOptions(), index_, MakeKey(folder, dir, name), EncodeIndexEntry(e)),
      "write agent index");
}

absl::StatusOr<uint64_t> StateDb::CountFiles(uint32_t folder) {
  std::string prefix = FolderPrefix(folder);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), index_));
  uint64_t n = 0;
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    if (it->value().size() > 2 && it->value()[2] == static_cast<char>(EntryKind::kFile)) ++n;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "count agent index"));
  return n;
}

absl::Status StateDb::StageOutbox(void* batch_ptr, const std::string& key, OutboxEntry* e,
                                  BatchCounters* c) {
  auto* batch = static_cast<rocksdb::WriteBatch*>(batch_ptr);
  std::string old;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), outbox_, key, &old);
  if (s.ok()) {
    auto o = DecodeOutboxEntry(old);
    if (o.ok()) {
      c->files -= 1;
      if (o->op == OutboxOp::kUpsert) c->bytes -= static_cast<int64_t>(o->stat.size);
    }
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read agent outbox");
  }
  e->generation = next_generation_++;
  e->queued_unix_ms = NowUnixMs();
  c->files += 1;
  if (e->op == OutboxOp::kUpsert) c->bytes += static_cast<int64_t>(e->stat.size);
  batch->Put(outbox_, key, EncodeOutboxEntry(*e));
  return absl::OkStatus();
}

absl::Status StateDb::Write(void* batch_ptr, const BatchCounters& c) {
  auto* batch = static_cast<rocksdb::WriteBatch*>(batch_ptr);
  RETURN_IF_ERROR(
      FromRocks(db_->Write(rocksdb::WriteOptions(), batch), "write agent index and outbox"));
  outbox_files_ += static_cast<uint64_t>(c.files);
  outbox_bytes_ += static_cast<uint64_t>(c.bytes);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StateDb::RecordUpsert(uint32_t folder, std::string_view dir,
                                               std::string_view name, const FileStat& st,
                                               const Digest& sha256,
                                               const std::vector<ChunkEntry>& chunks) {
  absl::MutexLock l(&write_mu_);
  std::string key = MakeKey(folder, dir, name);
  IndexEntry ie;
  ie.kind = EntryKind::kFile;
  ie.stat = st;
  ie.state = ReportState::kQueued;
  ie.sha256 = sha256;
  ie.chunks = chunks;
  OutboxEntry oe;
  oe.op = OutboxOp::kUpsert;
  oe.stat = st;
  oe.sha256 = sha256;
  oe.chunks = chunks;
  rocksdb::WriteBatch batch;
  BatchCounters c;
  RETURN_IF_ERROR(StageOutbox(&batch, key, &oe, &c));
  batch.Put(index_, key, EncodeIndexEntry(ie));
  RETURN_IF_ERROR(Write(&batch, c));
  return oe.generation;
}

absl::StatusOr<uint64_t> StateDb::RecordRemoval(uint32_t folder, std::string_view dir,
                                                std::string_view name) {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  BatchCounters c;
  uint64_t files = 0;
  std::string key = MakeKey(folder, dir, name);
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), index_, key, &v);
  if (s.IsNotFound()) return 0;
  RETURN_IF_ERROR(FromRocks(s, "read agent index"));
  bool is_dir = v.size() > 2 && v[2] == static_cast<char>(EntryKind::kDir);
  auto stage_file_delete = [&](const std::string& k) -> absl::Status {
    write_mu_.AssertHeld();  // called only below, under the lock taken above
    OutboxEntry d;
    d.op = OutboxOp::kDelete;
    ++files;
    return StageOutbox(&batch, k, &d, &c);
  };
  batch.Delete(index_, key);
  if (!is_dir) {
    RETURN_IF_ERROR(stage_file_delete(key));
  } else {
    std::string sub = JoinRel(dir, name);
    // Direct children: prefix folder‖sub‖NUL; deeper: folder‖sub‖'/'.
    for (const std::string& prefix :
         {ChildrenPrefix(folder, sub), FolderPrefix(folder) + sub + "/"}) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), index_));
      for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
        std::string k = it->key().ToString();
        batch.Delete(index_, k);
        if (it->value().size() > 2 && it->value()[2] == static_cast<char>(EntryKind::kFile)) {
          RETURN_IF_ERROR(stage_file_delete(k));
        }
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "scan agent index"));
    }
  }
  RETURN_IF_ERROR(Write(&batch, c));
  return files;
}

absl::Status StateDb::ForgetFile(uint32_t folder, std::string_view dir, std::string_view name,
                                 uint64_t generation) {
  std::string key = MakeKey(folder, dir, name);
  RETURN_IF_ERROR(
      FromRocks(db_->Delete(rocksdb::WriteOptions(), index_, key), "write agent index"));
  return DropChange(key, generation).status();
}

absl::StatusOr<uint64_t> StateDb::Reset() {
  absl::MutexLock l(&write_mu_);
  uint64_t n = 0;
  for (rocksdb::ColumnFamilyHandle* cf : {index_, outbox_}) {
    rocksdb::WriteBatch b;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      b.Delete(cf, it->key());
      if (cf == index_) ++n;
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scan agent state"));
    RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &b), "reset agent state"));
  }
  outbox_files_ = 0;
  outbox_bytes_ = 0;
  return n;
}

absl::Status StateDb::ScanOutbox(const std::string& after_key,
                                 const std::function<bool(PendingChange&&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), outbox_));
  if (after_key.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(after_key);
    if (it->Valid() && it->key() == rocksdb::Slice(after_key)) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    PendingChange pc;
    pc.key = it->key().ToString();
    auto parts = ParseKey(pc.key);
    auto e = DecodeOutboxEntry(std::string_view(it->value().data(), it->value().size()));
    if (!parts.ok() || !e.ok()) {
      spdlog::error(
          "agent outbox entry is corrupt ({}); dropping it, the next rescan reads the file again",
          std::string((!parts.ok() ? parts.status() : e.status()).message()));
      absl::MutexLock l(&write_mu_);
      rocksdb::WriteBatch b;
      b.Delete(outbox_, pc.key);
      b.Delete(index_, pc.key);
      RETURN_IF_ERROR(
          FromRocks(db_->Write(rocksdb::WriteOptions(), &b), "drop corrupt outbox entry"));
      if (outbox_files_ > 0) --outbox_files_;
      continue;
    }
    pc.parts = std::move(*parts);
    pc.entry = std::move(*e);
    if (!fn(std::move(pc))) break;
  }
  return FromRocks(it->status(), "scan agent outbox");
}

absl::StatusOr<bool> StateDb::Acknowledge(const std::string& key, uint64_t generation) {
  absl::MutexLock l(&write_mu_);
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), outbox_, key, &v);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s, "read agent outbox"));
  auto e = DecodeOutboxEntry(v);
  if (!e.ok()) return e.status();
  if (e->generation != generation) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(outbox_, key);
  if (e->op == OutboxOp::kUpsert) {
    std::string iv;
    rocksdb::Status is = db_->Get(rocksdb::ReadOptions(), index_, key, &iv);
    if (is.ok()) {
      auto ie = DecodeIndexEntry(iv);
      if (ie.ok() && ie->kind == EntryKind::kFile && ie->sha256 == e->sha256) {
        ie->state = ReportState::kAcked;
        batch.Put(index_, key, EncodeIndexEntry(*ie));
      }
    }
  }
  BatchCounters c;
  c.files = -1;
  c.bytes = e->op == OutboxOp::kUpsert ? -static_cast<int64_t>(e->stat.size) : 0;
  RETURN_IF_ERROR(Write(&batch, c));
  return true;
}

absl::StatusOr<bool> StateDb::DropChange(const std::string& key, uint64_t generation) {
  absl::MutexLock l(&write_mu_);
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), outbox_, key, &v);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s, "read agent outbox"));
  auto e = DecodeOutboxEntry(v);
  if (e.ok() && e->generation != generation) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(outbox_, key);
  BatchCounters c;
  c.files = -1;
  c.bytes = (e.ok() && e->op == OutboxOp::kUpsert) ? -static_cast<int64_t>(e->stat.size) : 0;
  RETURN_IF_ERROR(Write(&batch, c));
  return true;
}

}  // namespace shoebox::agent
