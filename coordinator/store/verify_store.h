// SQL of verification and repair (issue 7, docs/verify.md), kept apart from
// store.cc: every method is one transaction through
// Store::RunInTransaction, so it shares the pool, the retries and the
// error mapping of the store.
//
// Thread-safe (stateless apart from the borrowed store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/store.h"
#include "shoebox/v1/admin.pb.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

struct ScrubItem {
  std::string id;  // 32 bytes
  uint32_t size = 0;
};

class VerifyStore {
 public:
  explicit VerifyStore(Store* store) : store_(store) {}

  // Stored chunks (what a 100% scrub reads).
  absl::StatusOr<uint64_t> CountStoredChunks();
  // Up to `limit` stored chunks, the ones scrubbed longest ago (or never)
  // first.
  absl::StatusOr<std::vector<ScrubItem>> NextScrubBatch(uint32_t limit);
  // Sets last_scrubbed_at = now() for chunks that passed.
  absl::Status MarkScrubbed(const std::vector<std::string>& ids);
  // A chunk is missing or corrupt: records it in chunk_damage and marks the
  // chunk not stored (restores then name it; a device reporting a file with
  // it is asked to upload it again). Idempotent.
  absl::Status RecordDamage(const std::string& id, const std::string& error);
  // The chunk is good again (a repair or a device re-uploaded it).
  absl::Status MarkRepaired(const std::string& id, const std::string& by);

  // Every open damage with the versions (files) that contain the chunk and
  // the destinations holding a delivered copy. Closes damage whose chunk was
  // stored again meanwhile. With `queue_repairs`, queues one repair job (a
  // verify job at high priority; the lease adds repair_chunk_ids) per
  // destination holding a copy, unless such a job is already open. Sets
  // `*repairs_queued`.
  absl::StatusOr<std::vector<shoebox::v1::DamagedChunk>> OpenDamage(bool queue_repairs,
                                                                   uint64_t* repairs_queued);

  // Queues a remote check for `percent` of the delivered copies of current
  // versions (those checked longest ago first) of `destination` (empty:
  // all), skipping copies that already have an open verify job.
  absl::StatusOr<uint64_t> QueueRemoteChecks(const std::string& destination, double percent);

  // `n` random current, complete, not deleted versions.
  absl::StatusOr<std::vector<shoebox::v1::FileVersion>> SampleCurrentVersions(uint32_t n);

  // Verify runs. ClaimScheduledRun returns 0 when a scheduled run started
  // less than `interval_ms` ago (by any coordinator).
  absl::StatusOr<int64_t> StartRun(const std::string& trigger, double scrub_percent);
  absl::StatusOr<int64_t> ClaimScheduledRun(uint64_t interval_ms, double scrub_percent);
  absl::Status FinishRun(int64_t run_id, const shoebox::v1::VerifyResponse& r,
                         const std::string& error);

  // Lease hook: fills repair_chunk_ids of verify jobs whose file contains
  // damaged chunks.
  absl::Status FillRepairNeeds(std::vector<shoebox::v1::Job>* jobs);
  // RepairChunk may store `chunk_id` for this lease: the job is a leased
  // verify job with that token and its file contains the chunk.
  absl::Status CheckRepairLease(int64_t job_id, const std::string& token,
                                const std::string& chunk_id);

  // Adds copy counts, damaged chunks and the last run to a status.
  absl::Status AddToStatus(shoebox::v1::StatusResponse* resp);

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
