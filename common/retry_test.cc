#include "common/retry.h"

#include <vector>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

TEST(RetryTest, BackoffCeilingGrowsExponentiallyUpToTheMaximum) {
  BackoffPolicy p{
      .initial_delay = absl::Milliseconds(100), .max_delay = absl::Seconds(1), .multiplier = 2.0};
  Backoff b(p, 1);
  std::vector<absl::Duration> ceilings;
  for (int i = 0; i < 6; ++i) {
    ceilings.push_back(b.Ceiling());
    const absl::Duration wait = b.Next();
    EXPECT_GE(wait, absl::ZeroDuration());
    EXPECT_LE(wait, ceilings.back());
  }
  EXPECT_EQ(ceilings[0], absl::Milliseconds(100));
  EXPECT_EQ(ceilings[1], absl::Milliseconds(200));
  EXPECT_EQ(ceilings[2], absl::Milliseconds(400));
  EXPECT_EQ(ceilings[3], absl::Milliseconds(800));
  EXPECT_EQ(ceilings[4], absl::Seconds(1));
  EXPECT_EQ(ceilings[5], absl::Seconds(1));
  b.Reset();
  EXPECT_EQ(b.Ceiling(), absl::Milliseconds(100));
}

TEST(RetryTest, FullJitterSpreadsWaitsOverTheWholeRange) {
  BackoffPolicy p{.initial_delay = absl::Seconds(1), .max_delay = absl::Seconds(1)};
  Backoff b(p, 42);
  absl::Duration lo = absl::Seconds(1), hi = absl::ZeroDuration();
  for (int i = 0; i < 1000; ++i) {
    absl::Duration w = b.Next();
    lo = std::min(lo, w);
    hi = std::max(hi, w);
  }
  EXPECT_LT(lo, absl::Milliseconds(50));
  EXPECT_GT(hi, absl::Milliseconds(950));
}

TEST(RetryTest, RetriesUnavailableUntilSuccess) {
  int calls = 0;
  std::vector<absl::Duration> slept;
  absl::Status st = Retry(
      BackoffPolicy{},
      [&] { return ++calls < 3 ? absl::UnavailableError("flaky") : absl::OkStatus(); },
      [&](absl::Duration d) { slept.push_back(d); }, 1);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(slept.size(), 2u);
}

TEST(RetryTest, DoesNotRetryPermanentErrors) {
  int calls = 0;
  absl::StatusOr<int> r = Retry(
      BackoffPolicy{},
      [&]() -> absl::StatusOr<int> {
        ++calls;
        return absl::PermissionDeniedError("bad credentials");
      },
      [](absl::Duration) {}, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(calls, 1);
}

TEST(RetryTest, GivesUpAfterMaxAttemptsKeepingTheCode) {
  int calls = 0;
  absl::Status st = Retry(
      BackoffPolicy{.max_attempts = 4},
      [&] {
        ++calls;
        return absl::AbortedError("conflict");
      },
      [](absl::Duration) {}, 1);
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 4);
  EXPECT_NE(st.message().find("gave up after 4 attempts"), absl::string_view::npos) << st;
}

TEST(RetryTest, StopsWhenTheNextWaitWouldPassTheDeadline) {
  int calls = 0;
  absl::Status st = Retry(
      BackoffPolicy{.initial_delay = absl::Hours(1),
                    .max_delay = absl::Hours(1),
                    .max_attempts = 100,
                    .deadline = absl::Milliseconds(1)},
      [&] {
        ++calls;
        return absl::UnavailableError("down");
      },
      [](absl::Duration) { FAIL() << "must not sleep past the deadline"; }, 3);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_LE(calls, 2);
}

TEST(RetryTest, ReturnsTheValueOfAStatusOr) {
  int calls = 0;
  absl::StatusOr<std::string> r = Retry(
      BackoffPolicy{},
      [&]() -> absl::StatusOr<std::string> {
        if (++calls == 1) return absl::DeadlineExceededError("slow");
        return std::string("done");
      },
      [](absl::Duration) {}, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "done");
}

TEST(RetryTest, WaitsAtLeastTheServersRetryAfterHint) {
  int calls = 0;
  std::vector<absl::Duration> waits;
  absl::Status st = Retry(
      BackoffPolicy{
          .initial_delay = absl::Milliseconds(1), .max_delay = absl::Seconds(5), .max_attempts = 3},
      [&] {
        return ++calls < 3 ? WithRetryAfter(absl::UnavailableError("busy"), 2000)
                           : absl::OkStatus();
      },
      [&](absl::Duration d) { waits.push_back(d); }, 7);
  EXPECT_TRUE(st.ok()) << st;
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0], absl::Seconds(2));
  EXPECT_EQ(waits[1], absl::Seconds(2));
}

TEST(RetryTest, AHintLongerThanMaxDelayGoesBackToTheCallerWithTheHint) {
  int calls = 0;
  absl::Status st = Retry(
      BackoffPolicy{.max_delay = absl::Seconds(1), .max_attempts = 5},
      [&] {
        ++calls;
        return WithRetryAfter(absl::UnavailableError("slow down"), 60000);
      },
      [](absl::Duration) { FAIL() << "must not sleep a minute in a retry loop"; }, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(RetryAfterMs(st), 60000u);
}

TEST(RetryTest, GivingUpKeepsTheRetryAfterHint) {
  absl::Status st = Retry(
      BackoffPolicy{.max_delay = absl::Seconds(1), .max_attempts = 2},
      [] { return WithRetryAfter(absl::UnavailableError("busy"), 10); }, [](absl::Duration) {}, 1);
  EXPECT_NE(st.message().find("gave up after 2 attempts"), absl::string_view::npos) << st;
  EXPECT_EQ(RetryAfterMs(st), 10u);
  EXPECT_FALSE(RetryAfterMs(absl::UnavailableError("x")).has_value());
}

}  // namespace
}  // namespace shoebox
