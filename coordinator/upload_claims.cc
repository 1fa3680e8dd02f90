#include "coordinator/upload_claims.h"

#include <algorithm>

namespace shoebox::coordinator {

bool UploadClaims::Live(const Entry& e, absl::Time now) const {
  if (now - e.claimed >= opts_.max_age) return false;
  absl::Time last = e.claimed;
  auto p = progress_.find(e.device);
  if (p != progress_.end()) last = std::max(last, p->second);
  return now - last < opts_.ttl;
}

void UploadClaims::SweepLocked(absl::Time now) {
  if (now - last_sweep_ < opts_.ttl && claims_.size() < opts_.max_claims) return;
  last_sweep_ = now;
  // Plain loops, not erase_if with a lambda: clang's -Wthread-safety cannot
  // see that a lambda runs under mu_.
  for (auto it = claims_.begin(); it != claims_.end();) {
    if (Live(it->second, now)) {
      ++it;
    } else {
      claims_.erase(it++);
    }
  }
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (now - it->second >= opts_.max_age) {
      progress_.erase(it++);
    } else {
      ++it;
    }
  }
}

std::vector<bool> UploadClaims::Claim(int64_t device, const std::vector<std::string>& ids,
                                      absl::Time now, const std::vector<uint32_t>* sizes) {
  std::vector<bool> mine(ids.size(), true);
  absl::MutexLock l(&mu_);
  SweepLocked(now);
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t size = sizes != nullptr && i < sizes->size() ? (*sizes)[i] : 0;
    auto it = claims_.find(ids[i]);
    if (it != claims_.end()) {
      if (it->second.device == device) {  // already ours: keep the original time
        if (size != 0) it->second.size = size;
        continue;
      }
      if (Live(it->second, now)) {
        mine[i] = false;
        continue;
      }
      it->second = Entry{device, now, size};  // the claimant went quiet: take it over
      continue;
    }
    if (claims_.size() < opts_.max_claims) claims_.emplace(ids[i], Entry{device, now, size});
  }
  return mine;
}

bool UploadClaims::ClaimedBy(int64_t device, const std::string& id, absl::Time now,
                             uint32_t* size) const {
  absl::MutexLock l(&mu_);
  auto it = claims_.find(id);
  if (it == claims_.end() || it->second.device != device || it->second.size == 0 ||
      !Live(it->second, now)) {
    return false;
  }
  *size = it->second.size;
  return true;
}

void UploadClaims::Stored(int64_t device, const std::string& id, absl::Time now) {
  absl::MutexLock l(&mu_);
  claims_.erase(id);
  progress_[device] = now;
}

void UploadClaims::Release(const std::string& id) {
  absl::MutexLock l(&mu_);
  claims_.erase(id);
}

size_t UploadClaims::size() const {
  absl::MutexLock l(&mu_);
  return claims_.size();
}

}  // namespace shoebox::coordinator
