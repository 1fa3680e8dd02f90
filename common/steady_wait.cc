#include "common/steady_wait.h"

#include <cstdint>

namespace shoebox {
namespace {

// "Never": far enough for any wait, near enough that SteadyNow() + it stays
// within the clock's 292 years of nanoseconds.
constexpr absl::Duration kNever = absl::Hours(24 * 365 * 100);

}  // namespace

SteadyTime SteadyDeadline(absl::Duration d) {
  const SteadyTime now = SteadyNow();
  if (d >= kNever) d = kNever;
  if (d <= absl::ZeroDuration()) return now;
  return now + std::chrono::duration_cast<SteadyTime::duration>(absl::ToChronoNanoseconds(d));
}

gpr_timespec GrpcDeadlineAfter(absl::Duration d) {
  if (d >= kNever) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_nanos(absl::ToInt64Nanoseconds(d), GPR_TIMESPAN));
}

void SteadyCondVar::Wait(absl::Mutex* mu) {
  std::unique_lock<std::mutex> l(m_);
  mu->Unlock();
  cv_.wait(l);
  l.unlock();  // before `mu`: a signaller holds `mu` while it takes m_
  mu->Lock();
}

bool SteadyCondVar::WaitUntil(absl::Mutex* mu, SteadyTime deadline) {
  std::unique_lock<std::mutex> l(m_);
  mu->Unlock();
  // steady_clock: pthread_cond_clockwait(CLOCK_MONOTONIC) in libstdc++.
  const bool timed_out = cv_.wait_until(l, deadline) == std::cv_status::timeout;
  l.unlock();
  mu->Lock();
  return timed_out || SteadyNow() >= deadline;
}

void SteadyCondVar::Signal() {
  std::lock_guard<std::mutex> l(m_);
  cv_.notify_one();
}

void SteadyCondVar::SignalAll() {
  std::lock_guard<std::mutex> l(m_);
  cv_.notify_all();
}

void SteadyNotification::Notify() {
  std::lock_guard<std::mutex> l(m_);
  notified_.store(true, std::memory_order_release);
  // Under m_: a waiter that sees the flag may destroy this object once it
  // returns, which it cannot do before m_ is released.
  cv_.notify_all();
}

void SteadyNotification::WaitForNotification() const {
  std::unique_lock<std::mutex> l(m_);
  cv_.wait(l, [this] { return HasBeenNotified(); });
}

bool SteadyNotification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  if (HasBeenNotified()) return true;
  const SteadyTime deadline = SteadyDeadline(timeout);
  std::unique_lock<std::mutex> l(m_);
  return cv_.wait_until(l, deadline, [this] { return HasBeenNotified(); });
}

}  // namespace shoebox
