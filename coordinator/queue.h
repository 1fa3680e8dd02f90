// The worker side: registration and the job queue (lease, renew, complete,
// fail), as a plain class. `worker` is the authenticated caller's name.
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/options.h"
#include "coordinator/store/queue_store.h"
#include "coordinator/store/verify_store.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

class JobQueue {
 public:
  // Borrows `store` and `verify` (which adds repair needs to leased verify
  // jobs); both must outlive the queue. `now` is the wall clock (tests step
  // it).
  JobQueue(QueueStore* store, VerifyStore* verify, const Limits& limits,
           absl::Time (*now)() = absl::Now)
      : store_(store), verify_(verify), limits_(limits), now_(now) {}

  // The request's kinds and destinations within the worker's scope (the
  // admin's, GetWorkerScope); PERMISSION_DENIED when nothing of what it
  // asked for is allowed.
  absl::StatusOr<shoebox::v1::RegisterWorkerResponse> Register(
      const std::string& worker, const shoebox::v1::RegisterWorkerRequest& req);
  // OK when every chunk of `ids` belongs to a job `worker` holds a live
  // lease on; PERMISSION_DENIED otherwise (WorkerService.ReadChunks).
  absl::Status CheckReadable(const std::string& worker,
                             const google::protobuf::RepeatedPtrField<std::string>& ids);
  // Leases up to min(max_jobs, max_lease_batch) jobs of the destinations the
  // worker registered for and its scope allows; waits up to min(wait_ms, max_lease_wait_ms) for
  // work. FAILED_PRECONDITION when the worker never registered. `gone`
  // (optional) says whether the caller hung up: the wait then ends, and jobs
  // leased just as it did go straight back to the queue, so a stopped or
  // restarted worker's orphaned long poll never holds jobs until their
  // lease expires.
  absl::StatusOr<shoebox::v1::LeaseJobsResponse> Lease(const std::string& worker,
                                                       const shoebox::v1::LeaseJobsRequest& req,
                                                       const std::function<bool()>& gone = nullptr);
  absl::StatusOr<shoebox::v1::RenewLeaseResponse> Renew(const std::string& worker,
                                                        const shoebox::v1::RenewLeaseRequest& req);
  // Renew, Complete and Fail: PERMISSION_DENIED when the lease is another
  // worker's (the token alone is not enough), FAILED_PRECONDITION when it
  // expired or was lost.
  absl::Status Complete(const std::string& worker, const shoebox::v1::CompleteJobRequest& req);
  // Issue 23: Complete for a batch of up to kMaxCompleteBatch jobs, in one
  // transaction; an invalid entry or a lost lease fails only its entry.
  // INVALID_ARGUMENT for an empty or oversized batch.
  absl::StatusOr<shoebox::v1::CompleteJobsResponse> CompleteBatch(
      const std::string& worker, const shoebox::v1::CompleteJobsRequest& req);
  static constexpr int kMaxCompleteBatch = 256;
  absl::StatusOr<shoebox::v1::FailJobResponse> Fail(const std::string& worker,
                                                    const shoebox::v1::FailJobRequest& req);
  // Issue 19 (docs/destinations.md, "OAuth services"): at most 1 MiB of
  // resume state, and rotated credentials of the leased job's destination.
  absl::Status SaveResumeState(const std::string& worker,
                               const shoebox::v1::SaveResumeStateRequest& req);
  absl::Status UpdateDestinationCredentials(
      const std::string& worker, const shoebox::v1::UpdateDestinationCredentialsRequest& req);

  // Returns expired leases to the queue (dead-lettering those on their last
  // attempt) and queues jobs whose backoff is over. Runs at most every
  // `min_interval_ms` unless forced, and whenever the wall clock went back
  // (it does not wait for the clock to make up the step).
  absl::StatusOr<SweepResult> Sweep(bool force, uint32_t min_interval_ms = 100);

 private:
  absl::StatusOr<int64_t> WorkerId(const std::string& worker);
  // Fills repair_chunk_ids of the verify jobs whose file holds a chunk with
  // an open damage (each ID once, in the file's order).
  absl::Status AddRepairNeeds(std::vector<LeasedJob>* jobs);

  QueueStore* const store_;
  VerifyStore* const verify_;
  const Limits limits_;
  absl::Time (*const now_)();
  std::atomic<int64_t> last_sweep_ms_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> worker_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::coordinator
