#include "common/http/request_gate.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/retry.h"

namespace shoebox::http {

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
  for (;;) {
    const absl::Time open = open_at();
    const absl::Duration left = open - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::OkStatus();
    if (left > max_sleep_) {
      const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
      return WithRetryAfter(
          absl::ResourceExhaustedError(absl::StrCat(
              what, ": the service asked this account to wait until ", absl::FormatTime(open),
              " (Retry-After); the job waits in the queue until then")),
          static_cast<uint32_t>(std::min<int64_t>(ms, UINT32_MAX)));
    }
    absl::SleepFor(left);  // a later Hold may have moved it: look again
  }
}

void RequestGate::Hold(absl::Duration after) {
  if (after <= absl::ZeroDuration()) return;
  const absl::Time until = absl::Now() + after;
  absl::MutexLock l(&mu_);
  open_at_ = std::max(open_at_, until);
}

absl::Time RequestGate::open_at() const {
  absl::MutexLock l(&mu_);
  return open_at_;
}

}  // namespace shoebox::http
