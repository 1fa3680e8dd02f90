// The worker's job runner: registers with the coordinator, leases jobs,
// renews their leases while they run (workers/lease_renewer.h), hands each
// to the handler of its kind (workers/jobs/registry.h: deliver, verify,
// scrub, snapshot copy) and reports the outcome with CompleteJob or FailJob.
//
// Threads: Run() starts `concurrency` job threads; each leases one job at a
// time (long poll), runs it with a lease-renewal thread beside it, and
// reports the outcome. Stop() (from a signal-watching thread) makes the job
// threads stop leasing; current jobs get `shutdown_grace` to finish, after
// which their uploads are cancelled and the jobs are handed back with
// FailJob(retryable, "worker shutting down").
//
// Delivery is idempotent: the remote name is deterministic (layout +
// collision suffix, workers/jobs/remote_path.h), and a Stat before the
// upload completes the job without uploading when the same content is
// already there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/steady_wait.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "workers/chunk_source.h"
#include "workers/completion_batcher.h"
#include "workers/connector.h"
#include "workers/coordinator_client.h"
#include "workers/destination.h"
#include "workers/jobs/job_handler.h"
#include "workers/jobs/registry.h"
#include "workers/remote_album_directory.h"
#include "workers/worker_config.h"

namespace shoebox::worker {

struct JobOutcome {
  // CompleteJob was accepted; under Run(), queued for the next CompleteJobs
  // batch (its outcome is logged and counted when the batch returns).
  bool completed = false;
  bool uploaded = false;  // bytes went to the destination (false: already there)
  std::string remote_ref;
  absl::Status error;  // when !completed: what was reported with FailJob
};

class Worker {
 public:
  // `chunks` fetches verified plaintext chunks (store or coordinator);
  // borrowed, must outlive the worker. `open_credentials` may be null when
  // no destination has sealed credentials. INVALID_ARGUMENT without a name,
  // with concurrency < 1, or without `chunks`.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options,
                                                        std::shared_ptr<grpc::Channel> channel,
                                                        ChunkFetcher* chunks,
                                                        CredentialOpener open_credentials);
  ~Worker();

  // Registers and runs the job threads until Stop(); then drains and returns.
  absl::Status Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Asks Run() to stop (thread-safe, returns at once).
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // One lease + run cycle on the calling thread (tests): leases at most one
  // job, waiting up to `wait`. NOT_FOUND when no job came.
  absl::StatusOr<JobOutcome> RunOnce(absl::Duration wait) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Register();

  // Counters for metrics and tests.
  uint64_t jobs_done() const { return jobs_done_; }
  uint64_t jobs_failed() const { return jobs_failed_; }
  uint64_t bytes_uploaded() const { return bytes_uploaded_; }

  // Wraps each delivery's source (tests use it to break an upload midway).
  // Call before Run() / RunOnce().
  // Tests: the next Stop() drops the completions not sent yet instead of
  // sending them (what a killed worker loses); their jobs are leased again
  // after their leases expire.
  void DropUnsentCompletionsOnStopForTest() { drop_unsent_ = true; }
  // Tests: under Run(), completions are only sent at Stop() (no batch
  // timer, no send when idle), so a test can stop the worker with all of
  // them unsent. Call before Run().
  void HoldCompletionsForTest() { hold_completions_ = true; }
  // Under Run(): batches of completions sent so far (0 otherwise).
  uint64_t completion_batches() const {
    return batches_sent_.load() + (batcher_ ? batcher_->batches_sent() : 0);
  }

  void SetSourceWrapperForTest(
      std::function<std::unique_ptr<ByteSource>(std::unique_ptr<ByteSource>)> wrap) {
    env_.wrap_source = std::move(wrap);
  }

 private:
  Worker(WorkerOptions options, std::shared_ptr<grpc::Channel> channel, ChunkFetcher* chunks,
         CredentialOpener open_credentials);
  void JobThread();
  // Runs one leased job with its lease renewed, and reports the outcome.
  JobOutcome Process(const v1::Job& job);
  void ReportDone(const v1::Job& job, v1::CompleteJobRequest done, JobOutcome* out);
  // What follows a completion's answer `st` (counters, logs, FailJob when
  // the coordinator refused it for another reason than the lease).
  void AfterComplete(const v1::CompleteJobRequest& done, const absl::Status& st, JobOutcome* out);
  // One CompleteJobs call with retries; per-job CompleteJob calls when the
  // coordinator predates CompleteJobs (UNIMPLEMENTED).
  absl::StatusOr<v1::CompleteJobsResponse> SendCompletions(const v1::CompleteJobsRequest& req);
  void ReportFailure(const v1::Job& job, bool lease_lost, JobOutcome* out);
  // One RenewLease call: the response's `cancelled` flag.
  absl::StatusOr<bool> RenewLease(const v1::Job& job);
  absl::Status RepairChunk(const v1::Job& job, const std::string& id, std::string data);
  // Issue 19: rotated credentials (sealed here to the pool key of
  // options_.pool_key_file) and resume state, under the job's lease.
  absl::Status StoreCredentials(const v1::Job& job, const nlohmann::json& credentials);
  absl::Status SaveResumeState(const v1::Job& job, const std::string& state);
  // True when Stop() was called, false when `timeout` passed first.
  bool WaitForStop(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  bool Stopping() const { return stopping_.load(); }
  bool NoActiveJobs() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_jobs_ == 0; }
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline) const;

  const WorkerOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::WorkerService::Stub> stub_;
  const JobHandlerRegistry handlers_;
  // Issue 20: the album directory calls and their process-wide cache.
  std::unique_ptr<AlbumClient> album_client_;
  AlbumCache album_cache_;
  // What every job gets (chunks, destinations, repair calls). Fixed after
  // construction but for SetSourceWrapperForTest.
  JobEnvironment env_;

  // Written with mu_ held (so Await conditions see the change); read anywhere.
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandon_{false};  // grace period over: cancel uploads
  std::atomic<uint32_t> lease_ms_{30000};
  std::atomic<uint64_t> jobs_done_{0}, jobs_failed_{0}, bytes_uploaded_{0};
  absl::Mutex mu_;
  // Signalled when stopping_ is set or active_jobs_ drops: the timed waits
  // for them measure on the monotonic clock (common/steady_wait.h).
  SteadyCondVar cv_;
  int active_jobs_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<grpc::ClientContext*> lease_ctxs_
      ABSL_GUARDED_BY(mu_);  // long polls to cancel on Stop()
  // Issue 23: completions batched while Run() runs (set before the job
  // threads start, reset after they ended).
  std::unique_ptr<CompletionBatcher> batcher_;
  std::atomic<bool> drop_unsent_{false};
  std::atomic<bool> hold_completions_{false};
  std::atomic<uint64_t> batches_sent_{0};  // of batchers that ended
};

}  // namespace shoebox::worker
