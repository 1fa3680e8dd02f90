// Pause/resume through a control file in the state directory, and the upload
// token bucket.
//
// `shoebox-agent pause` writes "paused\n" to <state_dir>/control, `resume`
// writes "resumed\n". The running agent reads the file about once a second.
// Without the file, the config's `paused` value applies; the file overrides it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace shoebox::agent {

absl::Status WriteControl(const std::string& state_dir, bool paused);
// The control file's verdict, or nothing when there is no file.
absl::StatusOr<std::optional<bool>> ReadControl(const std::string& state_dir);

// Token bucket on upload bytes. rate 0 = unlimited. Thread-safe.
class TokenBucket {
 public:
  explicit TokenBucket(uint64_t bytes_per_second);
  // Blocks until `n` bytes may be sent (n larger than the burst is allowed:
  // it waits for the debt to be paid off afterwards).
  void Acquire(uint64_t n);
  uint64_t rate() const { return rate_; }

 private:
  const uint64_t rate_;
  const double burst_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::agent
