// The store of retention and pruning (issue 7, docs/retention.md): the
// interface Retention uses (tests hand it a fake, fake_stores.h) and its
// PostgreSQL implementation, kept apart from the main store: every method of
// PgRetentionStore is one transaction through Store::RunInTransaction
// (shared pool, retries, error mapping). Domain structs only, no protobuf.
//
// Reference counting: chunks.refcount counts, with multiplicity, the chunk
// lists of versions that still need the chunk stored: every version
// ReportFiles recorded, minus versions pruned here and pass-through versions
// whose chunks were released (file_versions.chunks_dropped). When it reaches
// 0, chunks.unreferenced_at records when; the grace period counts from then.
//
// Thread-safe: any thread may call any method. Any number of prunes may run
// at once, in one coordinator or several: every decision is re-checked under
// row locks in the transaction that acts on it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/retention_policy.h"

namespace shoebox::coordinator {

class Store;

struct FolderPolicy {
  int64_t folder_id = 0;
  std::string device;
  std::string folder;  // root, raw bytes
  bool is_default = true;
  RetentionPolicy policy;
};

// What one batch did (or, in a dry run, would do).
struct PruneBatch {
  uint64_t versions_removed = 0;
  uint64_t version_bytes = 0;
  uint64_t files_forgotten = 0;
  uint64_t versions_released = 0;
  uint64_t jobs_removed = 0;
  uint64_t versions_in_use = 0;
  // Versions released by this batch (pass-through).
  std::vector<int64_t> released_ids;
  // chunk ID → references dropped (only versions whose chunks counted).
  std::map<std::string, int64_t> unreferenced;
  // Chunks whose refcount reached 0 in this batch.
  uint64_t chunks_now_unreferenced = 0;
  // Where the next batch starts (0: done).
  int64_t next_after = 0;
};

struct DeletedChunk {
  std::string id;
  uint64_t size = 0;
  uint64_t stored_size = 0;
};

struct ChunkForecast {
  uint64_t chunks = 0;
  uint64_t bytes = 0;
  uint64_t stored_bytes = 0;
};

// Which versions of one file (of folder `folder_id`) go, given the file's
// rows and the database's clock: the caller's rules (Retention applies the
// folder's policy, DecideRetention). Pure; may be called more than once for
// one file (a retried transaction).
using RetentionDecider =
    std::function<RetentionDecision(int64_t folder_id, const FileFacts& file, int64_t now_unix_ms)>;

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;

  // Effective policy of every folder of `device` (empty: all devices),
  // or of one folder. NOT_FOUND naming an unknown device or folder.
  virtual absl::StatusOr<std::vector<FolderPolicy>> ListPolicies(const std::string& device,
                                                                 const std::string& folder) = 0;
  // Calls `update` with the effective policy of each selected folder (or
  // the defaults when `reset`) and stores the result. `folder` empty: every
  // folder of the device. Returns the new policies.
  virtual absl::StatusOr<std::vector<FolderPolicy>> UpdatePolicies(
      const std::string& device, const std::string& folder, bool reset,
      const std::function<absl::Status(RetentionPolicy*)>& update) = 0;
  // folder_id → policy, for folders that have one.
  virtual absl::StatusOr<std::map<int64_t, RetentionPolicy>> AllPolicies() = 0;

  // Pass-through folders: marks up to `limit` complete versions (id >
  // after) whose every bound destination has a DONE delivery as
  // chunks_dropped and releases their chunk references. Serialised with
  // BindFolder on the device row. `dry_run` rolls back.
  virtual absl::StatusOr<PruneBatch> ReleasePassThrough(int64_t after_version_id, uint32_t limit,
                                                        bool dry_run) = 0;

  // Asks `decide` about each of up to `limit` files (id > after) that have
  // more than one version or a deleted current version, and removes the
  // versions it names with their jobs and missing-chunk rows, releasing
  // their chunk references; a file whose every version goes (forget_file)
  // loses its current version. Versions with a leased job are kept this
  // time (versions_in_use). `skip_decrement` lists versions whose
  // references a dry run already counted as released.
  virtual absl::StatusOr<PruneBatch> PruneVersions(int64_t after_file_id, uint32_t limit,
                                                   const RetentionDecider& decide, bool dry_run,
                                                   const std::vector<int64_t>& skip_decrement) = 0;

  // Chunk collection, phase 1: up to `limit` unreferenced chunks (id >
  // after) whose last reference went at least `grace_s` ago are marked not
  // stored (committed before any blob is touched: from now on a report
  // that references one asks for it again). Returns their IDs.
  virtual absl::StatusOr<std::vector<std::string>> MarkCollectable(const std::string& after,
                                                                   uint32_t limit,
                                                                   uint32_t grace_s) = 0;
  // Phase 2: locks the rows among `ids` that are still unreferenced and not
  // stored, calls `delete_blobs` with them while holding the locks (it
  // returns the IDs whose blob is gone), then deletes those rows. If the
  // transaction fails after blobs were deleted, the rows are marked not
  // stored again (a concurrent upload's MarkChunkStored cannot leave a row
  // claiming a deleted blob).
  virtual absl::StatusOr<std::vector<DeletedChunk>> DeleteCollectable(
      const std::vector<std::string>& ids,
      const std::function<std::vector<std::string>(const std::vector<std::string>&)>&
          delete_blobs) = 0;
  // Unreferenced chunks still inside the grace period.
  virtual absl::StatusOr<uint64_t> CountInGrace(uint32_t grace_s) = 0;
  // Dry run: unreferenced chunks past the grace period (collectable now).
  virtual absl::StatusOr<ChunkForecast> CollectableNow(uint32_t grace_s) = 0;
  // Dry run: chunks whose refcount would reach 0 after dropping `refs`.
  virtual absl::StatusOr<ChunkForecast> WouldUnreference(
      const std::map<std::string, int64_t>& refs) = 0;

  // True (and records the run) when no scheduled run named `name` started
  // within `interval_s` (by any coordinator). The first call for a new
  // database only records the time, so a fresh system waits one interval.
  virtual absl::StatusOr<bool> ClaimScheduledRun(const std::string& name, uint32_t interval_s) = 0;
};

// The PostgreSQL implementation (retention_store.cc), on the store's pool.
class PgRetentionStore final : public RetentionStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit PgRetentionStore(Store* store) : store_(store) {}

  absl::StatusOr<std::vector<FolderPolicy>> ListPolicies(const std::string& device,
                                                         const std::string& folder) override;
  absl::StatusOr<std::vector<FolderPolicy>> UpdatePolicies(
      const std::string& device, const std::string& folder, bool reset,
      const std::function<absl::Status(RetentionPolicy*)>& update) override;
  absl::StatusOr<std::map<int64_t, RetentionPolicy>> AllPolicies() override;
  absl::StatusOr<PruneBatch> ReleasePassThrough(int64_t after_version_id, uint32_t limit,
                                                bool dry_run) override;
  absl::StatusOr<PruneBatch> PruneVersions(int64_t after_file_id, uint32_t limit,
                                           const RetentionDecider& decide, bool dry_run,
                                           const std::vector<int64_t>& skip_decrement) override;
  absl::StatusOr<std::vector<std::string>> MarkCollectable(const std::string& after, uint32_t limit,
                                                           uint32_t grace_s) override;
  absl::StatusOr<std::vector<DeletedChunk>> DeleteCollectable(
      const std::vector<std::string>& ids,
      const std::function<std::vector<std::string>(const std::vector<std::string>&)>& delete_blobs)
      override;
  absl::StatusOr<uint64_t> CountInGrace(uint32_t grace_s) override;
  absl::StatusOr<ChunkForecast> CollectableNow(uint32_t grace_s) override;
  absl::StatusOr<ChunkForecast> WouldUnreference(
      const std::map<std::string, int64_t>& refs) override;
  absl::StatusOr<bool> ClaimScheduledRun(const std::string& name, uint32_t interval_s) override;

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
