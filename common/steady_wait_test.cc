#include "common/steady_wait.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace shoebox {
namespace {

using std::chrono::milliseconds;

int64_t MsSince(SteadyTime t0) {
  return std::chrono::duration_cast<milliseconds>(SteadyNow() - t0).count();
}

// --- The child process: this binary again, under tests/faults/faketime.c ---
//
// It waits 1 s with one of the waits while a second thread steps this
// process's wall clock by SHOEBOX_STEADY_STEP seconds 300 ms into the wait,
// and prints how long the wait took on the monotonic clock and how far the
// wall clock moved against the monotonic one.

void WriteOffset(const std::string& path, int seconds) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) std::_Exit(3);
  std::fprintf(f, "%d\n", seconds);
  std::fclose(f);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) std::_Exit(3);
}

double WallMinusSteadySeconds() {
  using std::chrono::duration;
  return duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
         duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int RunChild(const std::string& mode) {
  const char* file = std::getenv("SHOEBOX_FAKETIME_FILE");
  const char* step_s = std::getenv("SHOEBOX_STEADY_STEP");
  if (file == nullptr || step_s == nullptr) return 2;
  const int step = std::atoi(step_s);
  WriteOffset(file, 0);
  std::this_thread::sleep_for(milliseconds(200));  // the shim reads the file every 50 ms
  const double before = WallMinusSteadySeconds();
  std::thread stepper([&] {
    std::this_thread::sleep_for(milliseconds(300));  // nanosleep: relative, not shifted
    WriteOffset(file, step);
  });
  const absl::Duration wait = absl::Seconds(1);
  const SteadyTime t0 = SteadyNow();
  if (mode == "condvar") {
    absl::Mutex mu;
    SteadyCondVar cv;
    bool never = false;
    absl::MutexLock l(&mu);
    (void)AwaitWithSteadyTimeout(&mu, &cv, wait, [&] { return never; });
  } else if (mode == "notification") {
    SteadyNotification n;
    (void)n.WaitForNotificationWithTimeout(wait);
  } else if (mode == "absl") {
    // What the fix replaces: Abseil's wait for an absolute CLOCK_REALTIME
    // deadline.
    absl::Mutex mu;
    bool never = false;
    absl::MutexLock l(&mu);
    (void)mu.AwaitWithTimeout(absl::Condition(&never), wait);
  } else {
    return 2;
  }
  const int64_t elapsed = MsSince(t0);
  stepper.join();
  std::this_thread::sleep_for(milliseconds(200));
  const double shift = WallMinusSteadySeconds() - before;
  std::printf("elapsed_ms=%lld shift_s=%.1f\n", static_cast<long long>(elapsed), shift);
  std::fflush(stdout);
  return 0;
}

// The child runs before main(), so gtest never starts in it.
[[maybe_unused]] const bool kIsChild = [] {
  const char* mode = std::getenv("SHOEBOX_STEADY_CHILD");
  if (mode == nullptr) return false;
  std::_Exit(RunChild(mode));
}();

struct ChildRun {
  bool ok = false;
  int64_t elapsed_ms = -1;
  double shift_s = 0;
  std::string output;
};

// Runs this binary as the child with faketime.so preloaded.
ChildRun RunUnderSteppedClock(const std::string& mode, int step_s) {
  ChildRun r;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return r;
  exe[n] = '\0';
  char dir[] = "/tmp/shoebox-steady-wait.XXXXXX";
  if (mkdtemp(dir) == nullptr) return r;
  const std::string offset = absl::StrCat(dir, "/offset");
  // verify_asan_link_order: the shim comes before the ASan runtime in the
  // asan preset; it only wraps libc's clock functions.
  const std::string cmd =
      absl::StrCat("SHOEBOX_STEADY_CHILD=", mode, " SHOEBOX_STEADY_STEP=", step_s,
                   " SHOEBOX_FAKETIME_FILE=", offset, " LD_PRELOAD=", SHOEBOX_FAKETIME_SO,
                   " ASAN_OPTIONS=verify_asan_link_order=0 '", exe, "' 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) r.output += buf;
  const int status = pclose(p);
  std::remove(offset.c_str());
  std::remove(absl::StrCat(offset, ".tmp").c_str());
  rmdir(dir);
  long long ms = -1;
  double shift = 0;
  const size_t at = r.output.find("elapsed_ms=");
  if (status == 0 && at != std::string::npos &&
      std::sscanf(r.output.c_str() + at, "elapsed_ms=%lld shift_s=%lf", &ms, &shift) == 2) {
    r.ok = true;
    r.elapsed_ms = ms;
    r.shift_s = shift;
  }
  return r;
}

// --- A wall clock stepped back during the wait (the bug this fixes) ---

TEST(SteadyWait, CondVarWaitIsNotStretchedByAWallClockSteppedBack) {
  const ChildRun r = RunUnderSteppedClock("condvar", -60);
  ASSERT_TRUE(r.ok) << "the child under faketime.so failed: " << r.output;
  EXPECT_LT(r.shift_s, -50) << "the wall clock was not stepped back: " << r.output;
  EXPECT_GE(r.elapsed_ms, 900) << r.output;
  EXPECT_LT(r.elapsed_ms, 30000) << "a 1 s wait took the 60 s step: " << r.output;
}

TEST(SteadyWait, NotificationWaitIsNotStretchedByAWallClockSteppedBack) {
  const ChildRun r = RunUnderSteppedClock("notification", -60);
  ASSERT_TRUE(r.ok) << "the child under faketime.so failed: " << r.output;
  EXPECT_LT(r.shift_s, -50) << "the wall clock was not stepped back: " << r.output;
  EXPECT_GE(r.elapsed_ms, 900) << r.output;
  EXPECT_LT(r.elapsed_ms, 30000) << "a 1 s wait took the 60 s step: " << r.output;
}

// The control: the same step does stretch Abseil's timed wait (a smaller
// step, to keep the test short), so the two tests above would catch a
// primitive that waited on the wall clock.
TEST(SteadyWait, AbseilsTimedWaitIsStretchedByTheStepTheControl) {
  const ChildRun r = RunUnderSteppedClock("absl", -4);
  ASSERT_TRUE(r.ok) << "the child under faketime.so failed: " << r.output;
  EXPECT_LT(r.shift_s, -3) << r.output;
  EXPECT_GE(r.elapsed_ms, 3500) << "Abseil's wait was not stretched by the step: " << r.output;
}

// --- The primitives on their own ---

TEST(SteadyWait, CondVarTimesOutAfterItsTimeout) {
  absl::Mutex mu;
  SteadyCondVar cv;
  bool flag = false;
  const SteadyTime t0 = SteadyNow();
  absl::MutexLock l(&mu);
  EXPECT_FALSE(AwaitWithSteadyTimeout(&mu, &cv, absl::Milliseconds(200), [&] { return flag; }));
  EXPECT_GE(MsSince(t0), 200);
  EXPECT_LT(MsSince(t0), 30000);
}

TEST(SteadyWait, CondVarSignalEndsTheWaitEarly) {
  absl::Mutex mu;
  SteadyCondVar cv;
  bool flag = false;
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(50));
    absl::MutexLock l(&mu);
    flag = true;
    cv.SignalAll();
  });
  const SteadyTime t0 = SteadyNow();
  {
    absl::MutexLock l(&mu);
    EXPECT_TRUE(AwaitWithSteadyTimeout(&mu, &cv, absl::Seconds(60), [&] {
      mu.AssertHeld();
      return flag;
    }));
  }
  EXPECT_LT(MsSince(t0), 30000);
  t.join();
}

TEST(SteadyWait, CondVarLosesNoSignalInAPingPong) {
  // Two threads hand a token back and forth; a lost signal would leave one
  // waiting out its 10 s timeout and the round would fail.
  absl::Mutex mu;
  SteadyCondVar cv;
  int turn = 0;
  constexpr int kRounds = 2000;
  int timeouts = 0;
  auto player = [&](int me) {
    for (int i = 0; i < kRounds; ++i) {
      absl::MutexLock l(&mu);
      if (!AwaitWithSteadyTimeout(&mu, &cv, absl::Seconds(10), [&] {
            mu.AssertHeld();
            return turn == me;
          })) {
        ++timeouts;
        return;
      }
      turn = 1 - me;
      cv.Signal();
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  EXPECT_EQ(timeouts, 0);
}

TEST(SteadyWait, WaitUntilAPassedDeadlineReturnsAtOnce) {
  absl::Mutex mu;
  SteadyCondVar cv;
  absl::MutexLock l(&mu);
  EXPECT_TRUE(cv.WaitUntil(&mu, SteadyNow() - milliseconds(5)));
  EXPECT_TRUE(cv.WaitWithTimeout(&mu, -absl::Seconds(1)));
}

TEST(SteadyWait, NotificationTimesOutOrIsNotified) {
  SteadyNotification n;
  const SteadyTime t0 = SteadyNow();
  EXPECT_FALSE(n.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  EXPECT_GE(MsSince(t0), 100);
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(50));
    n.Notify();
  });
  const SteadyTime t1 = SteadyNow();
  EXPECT_TRUE(n.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_LT(MsSince(t1), 30000);
  t.join();
  EXPECT_TRUE(n.HasBeenNotified());
  n.Notify();  // idempotent
  EXPECT_TRUE(n.WaitForNotificationWithTimeout(absl::ZeroDuration()));
  n.WaitForNotification();
}

TEST(SteadyWait, DeadlinesSaturateInsteadOfOverflowing) {
  const SteadyTime now = SteadyNow();
  EXPECT_GT(SteadyDeadline(absl::InfiniteDuration()), now + std::chrono::hours(24 * 365 * 50));
  const SteadyTime past = SteadyDeadline(-absl::InfiniteDuration());
  const SteadyTime zero = SteadyDeadline(absl::ZeroDuration());
  EXPECT_LE(past, SteadyNow());
  EXPECT_LE(zero, SteadyNow());
  const SteadyTime d = SteadyDeadline(absl::Seconds(5));
  EXPECT_GE(d - now, std::chrono::seconds(5));
  EXPECT_LT(d - now, std::chrono::seconds(30));
}

TEST(SteadyWait, GrpcDeadlinesAreOnTheMonotonicClock) {
  const gpr_timespec d = GrpcDeadlineAfter(absl::Seconds(20));
  EXPECT_EQ(d.clock_type, GPR_CLOCK_MONOTONIC);
  const gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_MONOTONIC));
  EXPECT_GT(left.tv_sec, 10);
  EXPECT_LE(left.tv_sec, 20);
  EXPECT_EQ(gpr_time_cmp(GrpcDeadlineAfter(absl::InfiniteDuration()),
                         gpr_inf_future(GPR_CLOCK_MONOTONIC)),
            0);
}

}  // namespace
}  // namespace shoebox
