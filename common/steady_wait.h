// Timed waits measured on the monotonic clock (docs/reliability.md, "Clock
// jumps").
//
// Debian's Abseil (20220623) turns every timed wait into a futex wait for an
// absolute CLOCK_REALTIME deadline: absl::CondVar::WaitWithTimeout and
// WaitWithDeadline, absl::Mutex::AwaitWithTimeout / LockWhenWithTimeout and
// absl::Notification::WaitForNotificationWithTimeout all build an
// absl::synchronization_internal::KernelTimeout, which holds only an
// absl::Time (KernelTimeout has no relative form in that release). When the
// wall clock is stepped back by X (NTP correcting a machine that booted
// ahead, an admin's `date -s`), every such wait in progress lasts X longer:
// a worker's backoff of 200 ms becomes an hour for a step of an hour.
//
// The waits here use std::condition_variable on std::chrono::steady_clock,
// which libstdc++ (GCC >= 10 with glibc >= 2.30) waits with
// pthread_cond_clockwait(CLOCK_MONOTONIC): a step of the wall clock in
// either direction does not move their end. Use them for every wait whose
// length is an interval (a backoff, a poll period, a timeout); keep the wall
// clock for times of day only.
//
// gRPC's own timers (call deadlines, reconnect backoff) still wait on the
// wall clock inside gRPC 1.51; GrpcDeadlineAfter at least gives a call a
// deadline that does not depend on when absl::Now() last sampled the clock.
#pragma once

#include <grpc/support/time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace shoebox {

using SteadyTime = std::chrono::steady_clock::time_point;

inline SteadyTime SteadyNow() { return std::chrono::steady_clock::now(); }

// The monotonic clock as an absl::Time from an arbitrary epoch, for code
// that measures intervals with absl::Time arithmetic (claims, holds). Never
// format it or compare it with absl::Now().
inline absl::Time SteadyAbslNow() {
  return absl::UnixEpoch() + absl::FromChrono(SteadyNow().time_since_epoch());
}

// SteadyNow() + d. absl::InfiniteDuration() and anything beyond 100 years is
// 100 years from now ("never", without overflowing the clock's range);
// zero and negative durations are now + d (already passed).
SteadyTime SteadyDeadline(absl::Duration d);

// A gRPC call deadline `d` from now on gRPC's monotonic clock, for
// grpc::ClientContext::set_deadline. Unlike absl::Now() + d (absl::Now()
// lags a step of the wall clock by up to ~2 s and then gives a deadline
// shifted by the step) it is right whatever the wall clock did.
gpr_timespec GrpcDeadlineAfter(absl::Duration d);

// A condition variable for state that an absl::Mutex guards, whose timed
// waits end on the monotonic clock. Like absl::CondVar: the caller holds
// `mu`; a wait releases it while blocked and holds it again on return;
// wake-ups may be spurious, so wait in a loop on the guarded condition.
// Whoever changes that condition must call Signal or SignalAll (with or
// without `mu` held): unlike absl::Mutex::Await(Condition), nothing wakes a
// waiter when `mu` is merely unlocked. Thread-safe.
class SteadyCondVar {
 public:
  SteadyCondVar() = default;
  SteadyCondVar(const SteadyCondVar&) = delete;
  SteadyCondVar& operator=(const SteadyCondVar&) = delete;

  // Blocks until signalled (or spuriously woken).
  void Wait(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Blocks until signalled, spuriously woken, or `deadline`; true when it
  // returned because the deadline passed (as absl::CondVar::WaitWithDeadline).
  bool WaitUntil(absl::Mutex* mu, SteadyTime deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool WaitWithTimeout(absl::Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return WaitUntil(mu, SteadyDeadline(timeout));
  }

  void Signal();
  void SignalAll();

 private:
  // Taken before `mu` is released and by the signallers, so a signal given
  // after the waiter checked its condition under `mu` is not lost. Never
  // held while `mu` is being acquired (no lock-order cycle with `mu`).
  std::mutex m_;
  std::condition_variable cv_;
};

// With `mu` held: waits on `cv` until `cond()` is true or `timeout` has
// passed on the monotonic clock; returns `cond()` (as
// absl::Mutex::AwaitWithTimeout). `cond` runs with `mu` held.
template <typename Cond>
bool AwaitWithSteadyTimeout(absl::Mutex* mu, SteadyCondVar* cv, absl::Duration timeout, Cond cond)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  const SteadyTime deadline = SteadyDeadline(timeout);
  while (!cond()) {
    if (cv->WaitUntil(mu, deadline)) return cond();
  }
  return true;
}

// absl::Notification with a timeout on the monotonic clock: a one-shot
// event, also the interruptible sleep of a loop that Stop() ends
// (`while (!stop.WaitForNotificationWithTimeout(period)) { ... }`).
// Notify is idempotent. Thread-safe.
class SteadyNotification {
 public:
  SteadyNotification() = default;
  SteadyNotification(const SteadyNotification&) = delete;
  SteadyNotification& operator=(const SteadyNotification&) = delete;

  void Notify();
  bool HasBeenNotified() const { return notified_.load(std::memory_order_acquire); }
  void WaitForNotification() const;
  // True when notified (before or during the wait), false when `timeout`
  // passed first.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const;

 private:
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  std::atomic<bool> notified_{false};
};

}  // namespace shoebox
