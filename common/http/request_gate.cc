#include "common/http/request_gate.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/retry.h"
#include "common/steady_wait.h"

namespace shoebox::http {
namespace {

// The gate's times are on the monotonic clock: holds and rate windows are
// intervals, and on the wall clock a step back would hold every request of
// the account for the size of the step (docs/reliability.md, "Clock jumps").
absl::Time MonotonicNow() { return SteadyAbslNow(); }

}  // namespace

std::shared_ptr<RequestGate> RequestGate::Shared(const std::string& key) {
  if (key.empty()) return std::make_shared<RequestGate>();
  static absl::Mutex mu(absl::kConstInit);
  static auto* gates = new std::map<std::string, std::shared_ptr<RequestGate>>();
  absl::MutexLock l(&mu);
  std::shared_ptr<RequestGate>& g = (*gates)[key];
  if (g == nullptr) g = std::make_shared<RequestGate>();
  return g;
}

absl::Status RequestGate::Wait(absl::string_view what) {
  // One second of the service's budget, plus the network's jitter.
  const absl::Duration window = absl::Seconds(1) + absl::Milliseconds(50);
  absl::Time start;
  {
    absl::MutexLock l(&mu_);
    const absl::Time now = MonotonicNow();
    start = std::max(now, open_at_);
    if (per_s_ > 0) {
      if (!starts_.empty()) start = std::max(start, starts_.back());
      while (!starts_.empty() && starts_.front() <= start - window) starts_.pop_front();
      if (starts_.size() >= static_cast<size_t>(per_s_)) {
        start = std::max(start, starts_[starts_.size() - per_s_] + window);
      }
    }
    const absl::Duration left = start - now;
    if (left > max_sleep_) {
      const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
      return WithRetryAfter(absl::ResourceExhaustedError(absl::StrCat(
                                what, ": the service asked this account to wait ",
                                absl::FormatDuration(absl::Ceil(left, absl::Seconds(1))),
                                " more (Retry-After); the job waits in the queue until then")),
                            static_cast<uint32_t>(std::min<int64_t>(ms, UINT32_MAX)));
    }
    if (per_s_ > 0) starts_.push_back(start);
  }
  absl::SleepFor(start - MonotonicNow());  // relative: nanosleep
  return absl::OkStatus();
}

void RequestGate::SetRate(int per_s) {
  absl::MutexLock l(&mu_);
  per_s_ = std::max(per_s, 0);
}

void RequestGate::Hold(absl::Duration after) {
  if (after <= absl::ZeroDuration()) return;
  const absl::Time until = MonotonicNow() + after;
  absl::MutexLock l(&mu_);
  open_at_ = std::max(open_at_, until);
}

absl::Time RequestGate::open_at() const {
  absl::MutexLock l(&mu_);
  return open_at_;
}

}  // namespace shoebox::http
