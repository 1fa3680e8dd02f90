#include "common/signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace shoebox {
namespace {

// Signals are sent to the process with kill(), as a service manager or a
// terminal does: raise() would direct them at the calling thread, which
// blocks them, and the watch would never see them.
void SendToProcess(int sig) { ASSERT_EQ(::kill(::getpid(), sig), 0); }

// Consumes stop signals left pending, so that the next test starts clean.
void DrainPendingStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

TEST(StopOnSignals, SigtermReachesTheCallbackOnce) {
  BlockStopSignals();
  std::atomic<int> calls{0}, got{0};
  absl::Notification called;
  auto watch = StopOnSignals([&](int sig) {
    got = sig;
    calls++;
    called.Notify();
  });
  SendToProcess(SIGTERM);
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  SendToProcess(SIGTERM);  // a second one does nothing
  absl::SleepFor(absl::Milliseconds(100));
  watch.reset();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, SIGTERM);
  DrainPendingStopSignals();
}

TEST(StopOnSignals, SigintReachesTheCallbackWithItsNumber) {
  BlockStopSignals();
  std::atomic<int> got{0};
  absl::Notification called;
  auto watch = StopOnSignals([&](int sig) {
    got = sig;
    called.Notify();
  });
  SendToProcess(SIGINT);
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(got, SIGINT);
  watch.reset();
  DrainPendingStopSignals();
}

TEST(StopOnSignals, SignalBeforeTheWatchStartsWaitsForIt) {
  BlockStopSignals();
  SendToProcess(SIGTERM);  // blocked: pending, the process lives on
  absl::Notification called;
  auto watch = StopOnSignals([&](int) { called.Notify(); });
  EXPECT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watch.reset();
  DrainPendingStopSignals();
}

TEST(StopOnSignals, EndingWithoutASignalNeverCallsBack) {
  BlockStopSignals();
  std::atomic<int> calls{0};
  const absl::Time start = absl::Now();
  {
    auto watch = StopOnSignals([&](int) { calls++; });
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(calls, 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // The watch's wake-up went to its own thread, not to the process.
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGTERM));
}

TEST(StopOnSignals, CallbackMayStopWhatTheMainThreadRuns) {
  BlockStopSignals();
  std::atomic<bool> stop{false};
  auto watch = StopOnSignals([&](int) { stop = true; });
  SendToProcess(SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!stop && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(stop);
  watch.reset();
  DrainPendingStopSignals();
}

}  // namespace
}  // namespace shoebox
