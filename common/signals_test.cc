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

TEST(StopSignalWatch, SigtermReachesTheCallbackOnce) {
  std::atomic<int> calls{0}, got{0};
  absl::Notification called;
  auto watch = std::make_unique<StopSignalWatch>(EarlyStopSignal::kEndProcess);
  watch->Arm([&](int sig) {
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

TEST(StopSignalWatch, SigintReachesTheCallbackWithItsNumber) {
  std::atomic<int> got{0};
  absl::Notification called;
  auto watch = std::make_unique<StopSignalWatch>(EarlyStopSignal::kDefer);
  watch->Arm([&](int sig) {
    got = sig;
    called.Notify();
  });
  SendToProcess(SIGINT);
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(got, SIGINT);
  watch.reset();
  DrainPendingStopSignals();
}

TEST(StopSignalWatch, DeferredSignalReachesTheCallbackOnArm) {
  auto watch = std::make_unique<StopSignalWatch>(EarlyStopSignal::kDefer);
  SendToProcess(SIGTERM);  // no callback yet: it waits, the process lives on
  absl::SleepFor(absl::Milliseconds(100));
  absl::Notification called;
  watch->Arm([&](int) { called.Notify(); });
  EXPECT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watch.reset();
  DrainPendingStopSignals();
}

TEST(StopSignalWatch, EndingWithoutASignalNeverCallsBack) {
  for (EarlyStopSignal early : {EarlyStopSignal::kEndProcess, EarlyStopSignal::kDefer}) {
    std::atomic<int> calls{0};
    const absl::Time start = absl::Now();
    {
      StopSignalWatch watch(early);
      watch.Arm([&](int) { calls++; });
      absl::SleepFor(absl::Milliseconds(20));
    }
    {
      StopSignalWatch unarmed(early);  // ends quietly too
    }
    EXPECT_EQ(calls, 0);
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    // The watch's wake-up went to its own thread, not to the process.
    sigset_t pending;
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGTERM));
  }
}

using StopSignalWatchDeathTest = ::testing::Test;

TEST_F(StopSignalWatchDeathTest, SignalBeforeArmEndsTheProcessAsTheDefaultActionDoes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignalWatch watch(EarlyStopSignal::kEndProcess);
        ::kill(::getpid(), SIGTERM);
        absl::SleepFor(absl::Seconds(30));
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace shoebox
