#include "common/locks.h"

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"

namespace shoebox {
namespace {

// Takes a then b, then b then a: a lock-order inversion (no actual deadlock,
// one thread). Abseil's detector, when on, aborts on the second order.
void InvertedLockOrder() {
  absl::Mutex a, b;
  a.Lock();
  b.Lock();
  b.Unlock();
  a.Unlock();
  b.Lock();
  a.Lock();
  a.Unlock();
  b.Unlock();
}

// The premise of DisableMutexDeadlockDetection: Debian's Abseil ships with the
// detector on. Should this start failing, the call in the binaries' main() is
// no longer needed (and costs nothing).
TEST(LocksDeathTest, DebiansAbseilDetectsLockOrderInversionsByDefault) {
  EXPECT_DEATH(InvertedLockOrder(), "deadlock");
}

TEST(LocksDeathTest, TheBinariesSwitchTheDetectorOff) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "under ThreadSanitizer its own lock-order detector reports the deliberate "
                  "inversion; this test is about Abseil's detector";
#endif
  EXPECT_EXIT(
      {
        DisableMutexDeadlockDetection();
        InvertedLockOrder();
        std::exit(7);
      },
      testing::ExitedWithCode(7), "");
}

}  // namespace
}  // namespace shoebox
