// The agent's local state: one RocksDB database in the state directory with
// three column families:
//   default  meta (folder ids, folder device numbers, cached session keys)
//   index    path → IndexEntry (what was last read/reported for each path)
//   outbox   path → OutboxEntry (every change not yet acknowledged)
//
// Index and outbox are updated in one atomic write batch, so after a crash
// either both carry a change or neither does; in the latter case the next scan
// sees the file as changed and reads it again (work repeated, nothing lost).
// Writes go to the WAL without fsync: a process kill loses nothing; a power
// loss can lose the last writes, which again only repeats work.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/index_format.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace shoebox::agent {

class StateDb {
 public:
  // Opens (creating if needed) the database in `dir`. Fails with UNAVAILABLE
  // when another agent holds the lock on the same state directory.
  static absl::StatusOr<std::unique_ptr<StateDb>> Open(const std::string& dir);
  ~StateDb();

  // Stable numeric id for a folder root (created on first use).
  absl::StatusOr<uint32_t> FolderId(const std::string& root);

  // Meta values (small strings).
  absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key);
  absl::Status PutMeta(const std::string& key, const std::string& value);

  // --- index ---
  absl::StatusOr<std::optional<IndexEntry>> GetIndex(uint32_t folder, std::string_view dir,
                                                     std::string_view name);
  // Direct children of `dir` (files and directories), by name.
  absl::Status ListChildren(uint32_t folder, std::string_view dir,
                            std::map<std::string, IndexEntry>* out);
  // Records a directory (local bookkeeping only, nothing is reported).
  absl::Status PutDir(uint32_t folder, std::string_view dir, std::string_view name,
                      const FileStat& st);
  // Number of file entries of a folder (walks the index).
  absl::StatusOr<uint64_t> CountFiles(uint32_t folder);

  // Records a newly read file version: index entry (state kQueued) and an
  // outbox upsert in one batch. Returns the outbox generation.
  absl::StatusOr<uint64_t> RecordUpsert(uint32_t folder, std::string_view dir,
                                        std::string_view name, const FileStat& st,
                                        const Digest& sha256,
                                        const std::vector<ChunkEntry>& chunks);
  // Removes `name` under `dir` from the index. A file becomes an outbox
  // delete; a directory removes its whole subtree, each file in it becoming an
  // outbox delete. One batch. Returns the number of files deleted.
  absl::StatusOr<uint64_t> RecordRemoval(uint32_t folder, std::string_view dir,
                                         std::string_view name);
  // Forgets the index entry of a file without reporting anything (the next
  // scan will read it again), and drops its pending outbox change of
  // `generation`, if still current.
  absl::Status ForgetFile(uint32_t folder, std::string_view dir, std::string_view name,
                          uint64_t generation);

  // Forgets every index and outbox entry (the chunk keys changed, so every
  // recorded chunk ID is meaningless). Returns the number of index entries.
  absl::StatusOr<uint64_t> Reset();

  // --- outbox ---
  struct PendingChange {
    std::string key;
    KeyParts parts;
    OutboxEntry entry;
  };
  // Calls `fn` for outbox entries in key order starting after `after_key`
  // (empty: from the start) until it returns false.
  absl::Status ScanOutbox(const std::string& after_key,
                          const std::function<bool(PendingChange&&)>& fn);
  // The change of `key` was acknowledged: removes the outbox entry if its
  // generation is still `generation` and marks the index entry kAcked.
  // Returns false when a newer change replaced it (nothing removed).
  absl::StatusOr<bool> Acknowledge(const std::string& key, uint64_t generation);
  // Drops the outbox entry of `generation` without marking anything.
  absl::StatusOr<bool> DropChange(const std::string& key, uint64_t generation);

  // Counters over the outbox (maintained in memory, rebuilt on open).
  uint64_t outbox_files() const { return outbox_files_.load(); }
  uint64_t outbox_bytes() const { return outbox_bytes_.load(); }

 private:
  StateDb() = default;
  absl::Status RebuildCounters();
  // Adds an outbox entry to `batch`, adjusting counters for a replaced one.
  // Caller holds write_mu_.
  struct BatchCounters {
    int64_t files = 0;
    int64_t bytes = 0;
  };
  absl::Status StageOutbox(void* batch, const std::string& key, OutboxEntry* e, BatchCounters* c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status Write(void* batch, const BatchCounters& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* index_ = nullptr;
  rocksdb::ColumnFamilyHandle* outbox_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string dir_;

  // Serialises read-modify-write sequences (generations, counters).
  absl::Mutex write_mu_;
  uint64_t next_generation_ ABSL_GUARDED_BY(write_mu_) = 1;
  std::atomic<uint64_t> outbox_files_{0};
  std::atomic<uint64_t> outbox_bytes_{0};
};

}  // namespace shoebox::agent
