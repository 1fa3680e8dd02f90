// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
// Backoff And Jitter"): the n-th wait is uniform in [0, min(max_delay,
// initial_delay * multiplier^n)].
//
//   shoebox::BackoffPolicy policy;            // defaults suit network calls
//   absl::Status st = shoebox::Retry(policy, [&] { return client.Put(...); });
//
// Retry() calls `fn` until it succeeds, returns a status that is not
// retryable (see IsRetryable), the attempts are used up, or the next wait
// would pass the deadline; it returns the last status (annotated with the
// attempt count when attempts ran out; payloads are kept).
//
// Retry-After: a server's hint travels in the status payload
// kRetryAfterPayload (WithRetryAfter / RetryAfterMs; common/http sets it from
// 429 and 5xx answers). Retry() then waits at least that long; a hint longer
// than policy.max_delay ends the loop at once and returns the status with
// its hint, so that the caller (a job queue) schedules the retry instead of
// holding a thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shoebox {

struct BackoffPolicy {
  absl::Duration initial_delay = absl::Milliseconds(100);
  absl::Duration max_delay = absl::Seconds(30);
  double multiplier = 2.0;
  int max_attempts = 8;                                // total calls, >= 1
  absl::Duration deadline = absl::InfiniteDuration();  // total time budget
};

// UNAVAILABLE (retry the call), ABORTED (retry the transaction) and
// DEADLINE_EXCEEDED are worth retrying; everything else is not.
inline bool IsRetryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsAborted(s) || absl::IsDeadlineExceeded(s);
}

// Status payload key carrying a Retry-After hint (decimal milliseconds).
inline constexpr char kRetryAfterPayload[] = "shoebox.retry_after_ms";

// Returns `s` with a Retry-After hint attached.
inline absl::Status WithRetryAfter(absl::Status s, uint32_t retry_after_ms) {
  s.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(retry_after_ms)));
  return s;
}

// The Retry-After hint of `s` in milliseconds; nullopt when it has none.
inline std::optional<uint32_t> RetryAfterMs(const absl::Status& s) {
  auto p = s.GetPayload(kRetryAfterPayload);
  if (!p.has_value()) return std::nullopt;
  uint32_t v = 0;
  if (!absl::SimpleAtoi(std::string(*p), &v)) return std::nullopt;
  return v;
}

// `s` with `suffix` appended to its message; code and payloads are kept.
inline absl::Status AppendToMessage(const absl::Status& s, absl::string_view suffix) {
  absl::Status out(s.code(), absl::StrCat(s.message(), suffix));
  s.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

// Produces the waits. Not thread-safe; one per retry loop.
class Backoff {
 public:
  explicit Backoff(const BackoffPolicy& p, uint64_t seed = std::random_device{}())
      : policy_(p), rng_(seed) {}
  // The upper bound of the next wait (before jitter).
  absl::Duration Ceiling() const {
    double scale = std::pow(policy_.multiplier, static_cast<double>(attempt_));
    absl::Duration d = policy_.initial_delay * scale;
    if (!std::isfinite(scale) || d > policy_.max_delay) return policy_.max_delay;
    return d;
  }
  // The next wait, uniform in [0, Ceiling()]; advances the attempt counter.
  absl::Duration Next() {
    absl::Duration ceiling = Ceiling();
    ++attempt_;
    int64_t ns = absl::ToInt64Nanoseconds(ceiling);
    if (ns <= 0) return absl::ZeroDuration();
    std::uniform_int_distribution<int64_t> dist(0, ns);
    return absl::Nanoseconds(dist(rng_));
  }
  int attempt() const { return attempt_; }
  void Reset() { attempt_ = 0; }

 private:
  const BackoffPolicy policy_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

namespace retry_internal {
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace retry_internal

// `fn` returns absl::Status or absl::StatusOr<T>. `sleep` is injectable for
// tests; by default absl::SleepFor.
template <typename Fn>
auto Retry(const BackoffPolicy& policy, Fn&& fn,
           const std::function<void(absl::Duration)>& sleep = absl::SleepFor,
           uint64_t seed = std::random_device{}()) -> std::invoke_result_t<Fn&> {
  Backoff backoff(policy, seed);
  // The deadline is an interval: measured on the monotonic clock.
  const auto start = std::chrono::steady_clock::now();
  const int attempts = std::max(1, policy.max_attempts);
  for (int i = 1;; ++i) {
    auto result = fn();
    const absl::Status& st = retry_internal::StatusOf(result);
    if (st.ok() || !IsRetryable(st)) return result;
    if (i >= attempts)
      return AppendToMessage(st, absl::StrCat(" (gave up after ", i, " attempts)"));
    absl::Duration wait = backoff.Next();
    if (std::optional<uint32_t> hint = RetryAfterMs(st)) {
      const absl::Duration asked = absl::Milliseconds(*hint);
      if (asked > policy.max_delay) return result;  // the caller schedules the retry
      wait = std::max(wait, asked);
    }
    if (absl::FromChrono(std::chrono::steady_clock::now() - start) + wait > policy.deadline) {
      return AppendToMessage(
          st, absl::StrCat(" (gave up after ", i, " attempts: retry deadline reached)"));
    }
    sleep(wait);
  }
}

}  // namespace shoebox
