// The job queue's store: workers, jobs and their leases, and what admins do
// with jobs. Implemented by the PostgreSQL store (pg_queue.cc,
// pg_jobs_admin.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator {

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  // reg.kinds/destinations are what the worker may serve (already
  // intersected with its scope by JobQueue).
  virtual absl::StatusOr<int64_t> RegisterWorker(const WorkerRegistration& reg) = 0;
  // The admin's scope of worker `name` (any/any when none was recorded).
  virtual absl::StatusOr<WorkerScope> GetWorkerScope(const std::string& name) = 0;
  // Records the scope of worker `name` (registered or not yet), replacing
  // the earlier one; applies to its next lease.
  virtual absl::Status SetWorkerScope(const std::string& name, const WorkerScope& scope) = 0;
  // FAILED_PRECONDITION when the worker never registered.
  virtual absl::StatusOr<int64_t> FindWorker(const std::string& name) = 0;
  // Up to p.max_jobs queued jobs of the destinations the worker serves and
  // its scope allows
  // (highest priority, then oldest first), respecting each destination's
  // max_concurrency and authentication pause; sorted by job ID.
  virtual absl::StatusOr<std::vector<LeasedJob>> LeaseJobs(const LeaseParams& p) = 0;
  // NOT_FOUND for an unknown job; FAILED_PRECONDITION when the lease was
  // lost; `cancelled` when an admin cancelled the job under this lease;
  // PERMISSION_DENIED when the token is the job's but `worker_id` does not
  // own the lease (RenewLease, CompleteJob and FailJob alike).
  virtual absl::StatusOr<LeaseRenewal> RenewLease(int64_t job_id, const std::string& token,
                                                  uint32_t lease_ms, int64_t worker_id) = 0;
  // Idempotent under the same lease. FAILED_PRECONDITION when the lease was
  // lost or the job cancelled.
  virtual absl::Status CompleteJob(const JobCompletion& c) = 0;
  // Issue 23: CompleteJob of each entry, all in one transaction where the
  // store has them; one status per entry, in order (a lost lease fails only
  // its own entry). An error only when the batch could not be applied.
  // The default calls CompleteJob once per entry.
  virtual absl::StatusOr<std::vector<absl::Status>> CompleteJobs(
      const std::vector<JobCompletion>& batch) {
    std::vector<absl::Status> out;
    out.reserve(batch.size());
    for (const JobCompletion& c : batch) out.push_back(CompleteJob(c));
    return out;
  }
  // Issue 19. Both require the current lease of `job_id` under `token`,
  // held by `worker_id` (FAILED_PRECONDITION otherwise). The resume state comes back with the
  // job at its next lease and is cleared when the job completes.
  virtual absl::Status SaveResumeState(int64_t job_id, const std::string& token, int64_t worker_id,
                                       const std::string& state) = 0;
  // Replaces the sealed credentials of `destination_id`, which must be the
  // leased job's destination (PERMISSION_DENIED otherwise).
  virtual absl::Status UpdateLeasedDestinationCredentials(int64_t job_id, const std::string& token,
                                                          int64_t worker_id, int64_t destination_id,
                                                          const std::string& sealed) = 0;
  virtual absl::StatusOr<FailOutcome> FailJob(const FailParams& p) = 0;
  // OK when every chunk in `ids` belongs to the file version of a job that
  // `worker_id` holds a live lease on; PERMISSION_DENIED naming the first
  // that does not.
  virtual absl::Status CheckChunksLeased(int64_t worker_id,
                                         const std::vector<std::string>& ids) = 0;
  // Expired leases back to the queue (dead after max_attempts), and retries
  // whose backoff is over.
  virtual absl::StatusOr<SweepResult> Sweep(uint32_t max_attempts) = 0;

  // Admin views and actions. NOT_FOUND when the selection names a
  // destination that does not exist.
  virtual absl::StatusOr<std::vector<JobRow>> ListJobs(const JobFilter& f,
                                                       uint32_t worker_stale_ms) = 0;
  virtual absl::StatusOr<uint64_t> CancelJobs(const JobSelection& sel) = 0;
  // Also lifts the authentication pause of the destinations concerned.
  virtual absl::StatusOr<uint64_t> RetryJobs(const JobSelection& sel) = 0;
  // Jobs not yet finished (queued, leased, waiting) get `priority`.
  virtual absl::StatusOr<uint64_t> SetJobPriority(const JobSelection& sel, int32_t priority) = 0;
  // Jobs per state (index = JobState value), for metrics.
  virtual absl::StatusOr<std::vector<uint64_t>> JobCountsByState() = 0;
};

}  // namespace shoebox::coordinator
