#include "coordinator/queue_policy.h"

#include <gtest/gtest.h>

namespace shoebox::coordinator {
namespace {

TEST(Backoff, DoublesPerAttemptWithinJitterBounds) {
  EXPECT_EQ(BackoffDelayMs(1, 1000, 60000, 1.0), 1000u);
  EXPECT_EQ(BackoffDelayMs(1, 1000, 60000, 0.0), 500u);
  EXPECT_EQ(BackoffDelayMs(3, 1000, 60000, 1.0), 4000u);
  EXPECT_EQ(BackoffDelayMs(3, 1000, 60000, 0.0), 2000u);
}

TEST(Backoff, IsCappedAtMax) {
  EXPECT_EQ(BackoffDelayMs(30, 1000, 60000, 1.0), 60000u);
  EXPECT_EQ(BackoffDelayMs(200, 1000, 60000, 0.0), 30000u);
}

TEST(WaitingReason, RunningAndDoneJobsHaveNone) {
  WaitFacts f;
  f.state = JobState::kLeased;
  EXPECT_EQ(WaitingReason(f), "");
  f.state = JobState::kDone;
  EXPECT_EQ(WaitingReason(f), "");
}

TEST(WaitingReason, NamesBackoffDeadline) {
  WaitFacts f;
  f.state = JobState::kRetryWait;
  f.attempts = 2;
  f.last_error = "503";
  f.next_attempt_unix_ms = 1795716000000;  // 2026-11-26T18:00:00Z
  EXPECT_EQ(WaitingReason(f), "backoff until 2026-11-26T18:00:00Z after attempt 2: 503");
}

TEST(WaitingReason, QueuedJobsSayWhyInPriorityOrder) {
  WaitFacts f;
  f.state = JobState::kQueued;
  f.destination = "nas";
  f.destination_kind = "local";
  EXPECT_NE(WaitingReason(f).find("no worker serves destination nas"), std::string::npos);
  f.workers_serving = 1;
  f.max_concurrency = 2;
  f.running = 2;
  EXPECT_NE(WaitingReason(f).find("concurrency limit (2"), std::string::npos);
  f.auth_failed_unix_ms = 1795716000000;
  f.auth_error = "401";
  EXPECT_NE(WaitingReason(f).find("failing authentication"), std::string::npos);
}

TEST(WaitingReason, DeadAndCancelledSayWhatToDo) {
  WaitFacts f;
  f.state = JobState::kDead;
  f.attempts = 8;
  f.last_error = "disk full";
  EXPECT_NE(WaitingReason(f).find("dead after 8 attempts: disk full"), std::string::npos);
  f.state = JobState::kCancelled;
  EXPECT_NE(WaitingReason(f).find("cancelled"), std::string::npos);
}

}  // namespace
}  // namespace shoebox::coordinator
