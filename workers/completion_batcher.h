// Issue 23: finished jobs are completed in batches (WorkerService.
// CompleteJobs: one call and one coordinator transaction per batch instead
// of one per job). A batch goes out when it holds max_batch completions,
// when its oldest one waited max_delay, when Kick() asks (the worker has no
// job in hand: a destination's concurrency slot may be waiting for it) or
// at Flush / destruction. A completion that is never sent (the worker was
// killed) is not lost work: its lease expires, the job is leased again and
// the delivery's Stat-first rule finds the copy in place (no second upload).
//
// Thread-safe. Owns one sender thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/steady_wait.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::worker {

class CompletionBatcher {
 public:
  struct Options {
    size_t max_batch = 64;
    absl::Duration max_delay = absl::Milliseconds(200);
  };
  // Sends one batch (with its own retries); one result per entry, in order.
  using SendFn =
      std::function<absl::StatusOr<v1::CompleteJobsResponse>(const v1::CompleteJobsRequest&)>;
  // Called once per completion with its outcome (the call's error when the
  // whole batch could not be sent).
  using DoneFn = std::function<void(const v1::CompleteJobRequest&, const absl::Status&)>;

  CompletionBatcher(Options options, SendFn send, DoneFn done);
  // Sends what is queued, then stops.
  ~CompletionBatcher();
  CompletionBatcher(const CompletionBatcher&) = delete;
  CompletionBatcher& operator=(const CompletionBatcher&) = delete;

  void Add(v1::CompleteJobRequest done) ABSL_LOCKS_EXCLUDED(mu_);
  // Send what is queued now, without waiting for it.
  void Kick() ABSL_LOCKS_EXCLUDED(mu_);
  // Sends what is queued and returns when it was sent.
  void Flush() ABSL_LOCKS_EXCLUDED(mu_);
  // Tests: forgets the queued completions unsent (a killed worker's).
  size_t DropForTest() ABSL_LOCKS_EXCLUDED(mu_);
  size_t pending() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t batches_sent() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop();
  bool ReadyToSend() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const SendFn send_;
  const DoneFn done_;
  mutable absl::Mutex mu_;
  std::deque<v1::CompleteJobRequest> queue_ ABSL_GUARDED_BY(mu_);
  SteadyTime oldest_ ABSL_GUARDED_BY(mu_);
  SteadyCondVar cv_;  // queue_, kicked_, stopping_, sending_ changed
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int sending_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace shoebox::worker
