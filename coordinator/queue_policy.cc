#include "coordinator/queue_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace shoebox::coordinator {

uint64_t BackoffDelayMs(uint32_t attempt, uint32_t base_ms, uint32_t max_ms, double jitter01) {
  if (attempt < 1) attempt = 1;
  double d = static_cast<double>(base_ms) * std::pow(2.0, std::min<uint32_t>(attempt - 1, 40));
  d = std::min(d, static_cast<double>(max_ms));
  jitter01 = std::clamp(jitter01, 0.0, 1.0);
  return static_cast<uint64_t>(d * (0.5 + 0.5 * jitter01));
}

std::string FormatUnixMs(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

namespace {

// A destination name as one shell word.
std::string ShellWord(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_.:/@+=") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string RetryCommand(const WaitFacts& f) {
  if (f.job_id != 0) return absl::StrCat("shoebox retry --job ", f.job_id);
  std::string cmd = absl::StrCat("shoebox retry --dest ", ShellWord(f.destination));
  if (f.state == JobState::kDead) absl::StrAppend(&cmd, " --state dead");
  if (f.state == JobState::kCancelled) absl::StrAppend(&cmd, " --state cancelled");
  return cmd;
}

std::string WaitingReason(const WaitFacts& f) {
  switch (f.state) {
    case JobState::kLeased:
    case JobState::kDone:
      return "";
    case JobState::kCancelled:
      return absl::StrCat("cancelled by an admin; `", RetryCommand(f), "` queues it again");
    case JobState::kDead:
      return absl::StrCat("dead after ", f.attempts, " attempt", f.attempts == 1 ? "" : "s", ": ",
                          f.last_error.empty() ? "(no error text)" : f.last_error,
                          "; fix the cause, then `", RetryCommand(f), "`");
    case JobState::kRetryWait:
      return absl::StrCat("backoff until ", FormatUnixMs(f.next_attempt_unix_ms), " after attempt ",
                          f.attempts, ": ", f.last_error);
    default:
      break;
  }
  // Queued.
  if (f.paused_unix_ms != 0) {
    return absl::StrCat("destination ", f.destination, " is paused by an admin since ",
                        FormatUnixMs(f.paused_unix_ms), "; `shoebox dest resume ", f.destination,
                        "` resumes it");
  }
  if (f.auth_failed_unix_ms != 0) {
    return absl::StrCat("destination ", f.destination, " is failing authentication since ",
                        FormatUnixMs(f.auth_failed_unix_ms), ": ", f.auth_error,
                        "; fix its credentials with `shoebox dest set ", ShellWord(f.destination),
                        " --secret KEY=-` (its held jobs then go again)");
  }
  if (f.workers_serving == 0) {
    return absl::StrCat("no worker serves destination ", f.destination, " (kind ",
                        f.destination_kind, "); start a worker with a ", f.destination_kind,
                        " connector");
  }
  if (f.max_concurrency != 0 && f.running >= f.max_concurrency) {
    return absl::StrCat("destination ", f.destination, " is at its concurrency limit (",
                        f.max_concurrency, " running)");
  }
  if (f.queued_ahead > 0) {
    return absl::StrCat("queued behind ", f.queued_ahead, " job", f.queued_ahead == 1 ? "" : "s",
                        " for destination ", f.destination);
  }
  return absl::StrCat("waiting for a free worker for destination ", f.destination);
}

}  // namespace shoebox::coordinator
