// Keeps one job's lease alive while the job runs (workers/worker.h).
//
// A thread of its own renews the lease at a third of the lease length. It
// sets the job's cancellation flag when an admin cancelled the job, when the
// lease is lost (another worker may own the job now), or once the worker's
// shutdown grace period is over (`abandon`).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/steady_wait.h"

namespace shoebox::worker {

class LeaseRenewer {
 public:
  // One RenewLease call: the response's `cancelled` flag, or the call's
  // error (FAILED_PRECONDITION / NOT_FOUND: the lease is lost; anything else
  // is tried again at the next period).
  using RenewCall = std::function<absl::StatusOr<bool>()>;

  // Starts renewing at once. `lease_ms`, `abandon` and `cancelled` are
  // borrowed and outlive the renewer; `lease_ms` is read at every period
  // (a re-registration may change it). `log_name` ("worker=W job=J") prefixes
  // the log lines.
  LeaseRenewer(std::string log_name, RenewCall renew, const std::atomic<uint32_t>* lease_ms,
               const std::atomic<bool>* abandon, std::atomic<bool>* cancelled);
  // Stop()s.
  ~LeaseRenewer();
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;

  // Stops renewing and joins the thread (waits for a renewal in flight).
  // Idempotent; call from the thread that created the renewer.
  void Stop();
  // True when a renewal found the lease lost: the job must not be reported.
  bool lease_lost() const;

 private:
  void Loop();

  const std::string log_name_;
  const RenewCall renew_;
  const std::atomic<uint32_t>* const lease_ms_;
  const std::atomic<bool>* const abandon_;
  std::atomic<bool>* const cancelled_;
  mutable absl::Mutex mu_;
  SteadyCondVar cv_;  // done_ set; the period is measured on the monotonic clock
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool lease_lost_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the members it reads
};

}  // namespace shoebox::worker
