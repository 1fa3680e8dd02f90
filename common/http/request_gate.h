// Requests to one account of a service from this process, across the
// connectors of all its jobs (a worker opens a connector per job): once the
// service answers 429 or 503 with Retry-After, no request of that account is
// sent before the time it named. Without it, the jobs that did not get the
// 429 keep sending, and services count those early requests against the
// app (Microsoft Graph, Dropbox and Google all throttle harder then).
//
//   ClientOptions o; o.gate = RequestGate::Shared(account_key);
//   // Client::Send waits at the gate and holds it on a 429/503 + Retry-After.
//
// With a rate (SetRate, a destination's `max_requests_per_s`, for a service
// that publishes its budget), requests also start at most that many per
// second (+50 ms of margin for the network), so the budget is used without
// being exceeded.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace shoebox::http {

class RequestGate {
 public:
  // A hold up to `max_sleep` is slept out in Wait; a longer one is returned
  // to the caller (the job waits in the queue instead of holding its lease).
  explicit RequestGate(absl::Duration max_sleep = absl::Seconds(10)) : max_sleep_(max_sleep) {}

  // The gate of `key` in this process (one per account); "" → a new gate of
  // its own.
  static std::shared_ptr<RequestGate> Shared(const std::string& key);

  // OK when a request may go now (after sleeping out a short hold);
  // RESOURCE_EXHAUSTED naming `what` with the remaining time as its
  // Retry-After hint (common/retry.h) for a longer one.
  absl::Status Wait(absl::string_view what);
  // The service asked for `after` before the next request.
  void Hold(absl::Duration after);
  // When requests may go again (InfinitePast: now), on the gate's own
  // monotonic timeline (not comparable with absl::Now(): holds are
  // intervals, see request_gate.cc).
  absl::Time open_at() const;
  // At most `per_s` request starts in any second; 0: no limit.
  void SetRate(int per_s);

 private:
  const absl::Duration max_sleep_;
  mutable absl::Mutex mu_;
  absl::Time open_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int per_s_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<absl::Time> starts_ ABSL_GUARDED_BY(mu_);  // reserved, ascending
};

}  // namespace shoebox::http
