// Rate limit of failed log-ins (docs/web.md): at most `max_failures` in any
// `window` per key, where the web server uses two keys per attempt, the
// account name tried and the client address, so neither guessing one
// account from many addresses nor many accounts from one address gets more
// than a handful of tries a minute. Only failures count: a household that
// logs in and out often is never limited. Bounded in memory: past
// `max_keys` the key whose newest failure is oldest goes first.
// Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shoebox::cli::web {

class LoginLimiter {
 public:
  LoginLimiter(int max_failures = 5, absl::Duration window = absl::Minutes(1),
               size_t max_keys = 100000, absl::Time (*now)() = absl::Now)
      : max_(max_failures), window_(window), max_keys_(max_keys), now_(now) {}

  // Zero when an attempt under every key in `keys` may go ahead; otherwise
  // how long until it may (whole seconds, at least 1: the Retry-After).
  absl::Duration RetryAfter(const std::vector<std::string>& keys);
  // Counts one failed attempt under each key.
  void RecordFailure(const std::vector<std::string>& keys);
  size_t size() const;

 private:
  void TrimLocked(std::deque<absl::Time>& q, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const int max_;
  const absl::Duration window_;
  const size_t max_keys_;
  absl::Time (*const now_)();
  mutable absl::Mutex mu_;
  std::map<std::string, std::deque<absl::Time>> failures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::cli::web
