#include "cli/web/login_limiter.h"

#include <algorithm>
#include <cmath>

namespace shoebox::cli::web {

void LoginLimiter::TrimLocked(std::deque<absl::Time>& q, absl::Time now) const {
  while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

absl::Duration LoginLimiter::RetryAfter(const std::vector<std::string>& keys) {
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  absl::Duration wait = absl::ZeroDuration();
  for (const std::string& k : keys) {
    auto it = failures_.find(k);
    if (it == failures_.end()) continue;
    TrimLocked(it->second, now);
    if (it->second.empty()) {
      failures_.erase(it);
      continue;
    }
    if (static_cast<int>(it->second.size()) < max_) continue;
    // The attempt may go ahead once enough of the oldest failures leave the
    // window to bring the count under the limit.
    const absl::Time frees = it->second[it->second.size() - max_] + window_;
    wait = std::max(wait, frees - now);
  }
  if (wait <= absl::ZeroDuration()) return absl::ZeroDuration();
  return absl::Seconds(
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1)))));
}

void LoginLimiter::RecordFailure(const std::vector<std::string>& keys) {
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  for (const std::string& k : keys) {
    if (failures_.find(k) == failures_.end() && failures_.size() >= max_keys_) {
      auto stalest = failures_.begin();
      for (auto it = failures_.begin(); it != failures_.end(); ++it) {
        if (it->second.empty() ||
            (!stalest->second.empty() && it->second.back() < stalest->second.back())) {
          stalest = it;
          if (it->second.empty()) break;
        }
      }
      failures_.erase(stalest);
    }
    std::deque<absl::Time>& q = failures_[k];
    TrimLocked(q, now);
    q.push_back(now);
    while (static_cast<int>(q.size()) > max_) q.pop_front();
  }
}

size_t LoginLimiter::size() const {
  absl::MutexLock lock(&mu_);
  return failures_.size();
}

}  // namespace shoebox::cli::web
