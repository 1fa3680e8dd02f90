// SQL of verification and repair (issue 7, docs/verify.md), kept apart from
// the main store: every method is one transaction through
// Store::RunInTransaction, so it shares the pool, the retries and the
// error mapping of the store.
//
// The interface is what Verifier, Catalog, JobQueue and Admin use (tests
// hand them fakes); PgVerifyStore is the SQL. It takes and returns the
// domain structs of model.h; the domain classes translate to protobuf
// (proto_convert.h). Thread-safe (stateless apart from the borrowed store).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator {

class Store;

class VerifyStore {
 public:
  virtual ~VerifyStore() = default;

  // Stored chunks (what a 100% scrub reads).
  virtual absl::StatusOr<uint64_t> CountStoredChunks() = 0;
  // Up to `limit` stored chunks, the ones scrubbed longest ago (or never)
  // first.
  virtual absl::StatusOr<std::vector<ScrubItem>> NextScrubBatch(uint32_t limit) = 0;
  // Sets last_scrubbed_at = now() for chunks that passed.
  virtual absl::Status MarkScrubbed(const std::vector<std::string>& ids) = 0;
  // A chunk is missing or corrupt: records it in chunk_damage and marks the
  // chunk not stored (restores then name it; a device reporting a file with
  // it is asked to upload it again). Idempotent.
  virtual absl::Status RecordDamage(const std::string& id, const std::string& error) = 0;
  // The chunk is good again (a repair or a device re-uploaded it).
  virtual absl::Status MarkRepaired(const std::string& id, const std::string& by) = 0;

  // Every open damage with the versions (files) that contain the chunk and
  // the destinations holding a delivered copy. Closes damage whose chunk was
  // stored again meanwhile. With `queue_repairs`, queues one repair job (a
  // verify job at high priority; the lease adds repair_chunk_ids) per
  // destination holding a copy, unless such a job is already open. Sets
  // `*repairs_queued`.
  virtual absl::StatusOr<std::vector<DamagedChunk>> OpenDamage(bool queue_repairs,
                                                               uint64_t* repairs_queued) = 0;

  // Queues a remote check for `percent` of the delivered copies of current
  // versions (those checked longest ago first) of `destination` (empty:
  // all), skipping copies that already have an open verify job.
  virtual absl::StatusOr<uint64_t> QueueRemoteChecks(const std::string& destination,
                                                     double percent) = 0;

  // `n` random current, complete, not deleted versions (version_id,
  // device, folder, path, size, mtime_ns, sha256, chunks set).
  virtual absl::StatusOr<std::vector<FileVersion>> SampleCurrentVersions(uint32_t n) = 0;

  // Verify runs. ClaimScheduledRun returns 0 when a scheduled run started
  // less than `interval_ms` ago (by any coordinator).
  virtual absl::StatusOr<int64_t> StartRun(const std::string& trigger, double scrub_percent) = 0;
  virtual absl::StatusOr<int64_t> ClaimScheduledRun(uint64_t interval_ms, double scrub_percent) = 0;
  virtual absl::Status FinishRun(int64_t run_id, const VerifyRunResult& r,
                                 const std::string& error) = 0;

  // Lease hook: which of `chunk_ids` have an open damage and are not stored
  // (a verify job whose file holds one repairs it). IDs that are not 32
  // bytes are ignored.
  virtual absl::StatusOr<std::set<std::string>> OpenDamageAmong(
      const std::vector<std::string>& chunk_ids) = 0;
  // RepairChunk may store `chunk_id` for this lease: the job is a leased
  // verify job with that token, leased by `worker` (PERMISSION_DENIED when
  // another worker holds it), and its file contains the chunk.
  virtual absl::Status CheckRepairLease(int64_t job_id, const std::string& token,
                                        const std::string& chunk_id, const std::string& worker) = 0;

  // Copy counts, damaged chunks and the last run, for the status.
  virtual absl::StatusOr<CopySummary> GetCopySummary() = 0;
};

// The PostgreSQL implementation (verify_store.cc), on the store's pool.
class PgVerifyStore final : public VerifyStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit PgVerifyStore(Store* store) : store_(store) {}

  absl::StatusOr<uint64_t> CountStoredChunks() override;
  absl::StatusOr<std::vector<ScrubItem>> NextScrubBatch(uint32_t limit) override;
  absl::Status MarkScrubbed(const std::vector<std::string>& ids) override;
  absl::Status RecordDamage(const std::string& id, const std::string& error) override;
  absl::Status MarkRepaired(const std::string& id, const std::string& by) override;
  absl::StatusOr<std::vector<DamagedChunk>> OpenDamage(bool queue_repairs,
                                                       uint64_t* repairs_queued) override;
  absl::StatusOr<uint64_t> QueueRemoteChecks(const std::string& destination,
                                             double percent) override;
  absl::StatusOr<std::vector<FileVersion>> SampleCurrentVersions(uint32_t n) override;
  absl::StatusOr<int64_t> StartRun(const std::string& trigger, double scrub_percent) override;
  absl::StatusOr<int64_t> ClaimScheduledRun(uint64_t interval_ms, double scrub_percent) override;
  absl::Status FinishRun(int64_t run_id, const VerifyRunResult& r,
                         const std::string& error) override;
  absl::StatusOr<std::set<std::string>> OpenDamageAmong(
      const std::vector<std::string>& chunk_ids) override;
  absl::Status CheckRepairLease(int64_t job_id, const std::string& token,
                                const std::string& chunk_id, const std::string& worker) override;
  absl::StatusOr<CopySummary> GetCopySummary() override;

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
