// Pure queue rules, kept apart from SQL so unit tests pin them down: retry
// backoff and the human-readable reason a waiting job gives.
#pragma once

#include <cstdint>
#include <string>

#include "coordinator/store/model.h"

namespace shoebox::coordinator {

// Delay before attempt `attempt + 1` after `attempt` failed (attempt >= 1):
// min(max_ms, base_ms * 2^(attempt-1)) scaled by a jitter factor in
// [0.5, 1.0] ("equal jitter"): `jitter01` in [0, 1) picks the point.
uint64_t BackoffDelayMs(uint32_t attempt, uint32_t base_ms, uint32_t max_ms, double jitter01);

// What a waiting job's reason is computed from.
struct WaitFacts {
  JobState state = JobState::kUnspecified;
  // The job the reason is for; 0 for a destination's oldest job, whose
  // hints then name the destination instead (`shoebox retry --dest D`).
  int64_t job_id = 0;
  std::string destination;
  std::string destination_kind;
  uint32_t attempts = 0;
  std::string last_error;
  int64_t next_attempt_unix_ms = 0;
  // Destination state.
  int64_t auth_failed_unix_ms = 0;  // 0: credentials fine
  std::string auth_error;
  uint32_t max_concurrency = 0;  // 0: no limit
  uint32_t running = 0;          // jobs of the destination leased now
  uint32_t workers_serving = 0;  // live workers that serve the destination
  uint64_t queued_ahead = 0;     // queued jobs ahead of this one (same destination)
  int64_t paused_unix_ms = 0;    // paused by an admin (0: not paused)
};

// Empty for LEASED and DONE jobs; otherwise one sentence, e.g.
// "backoff until 2026-11-26T18:00:00Z after attempt 2: 503 Service Unavailable".
// A command it suggests is written in backquotes and is a `shoebox` command
// line as docs/cli.md gives it (tests/coordinator/hint_commands_test.cc
// parses each one with the CLI's own parser).
std::string WaitingReason(const WaitFacts& f);

// The `shoebox retry ...` command line that requeues the job of `f` (by
// --job when f.job_id is set, else every job of f.destination in f's state).
std::string RetryCommand(const WaitFacts& f);

// RFC 3339 UTC with seconds, e.g. "2026-11-26T18:00:00Z".
std::string FormatUnixMs(int64_t unix_ms);

}  // namespace shoebox::coordinator
