#include "common/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace shoebox {

namespace {

sigset_t StopSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// What the default action of `sig` does: the process ends, killed by it.
[[noreturn]] void EndProcessBySignal(int sig) {
  ::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);        // to this thread, where it is no longer blocked
  ::_exit(128 + sig);  // not reached
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

StopSignalWatch::StopSignalWatch(EarlyStopSignal early) : early_(early) {
  BlockStopSignals();  // the thread inherits the block: sigwait needs it
  thread_ = std::thread([this] { Loop(); });
}

StopSignalWatch::~StopSignalWatch() {
  {
    absl::MutexLock l(&mu_);
    ending_ = true;
  }
  // Wakes sigwait with a signal for the watch thread alone (blocked there
  // like everywhere, so it only ends the wait). If the thread is not in
  // sigwait, the signal is dropped with the thread.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void StopSignalWatch::Arm(std::function<void(int)> on_signal) {
  absl::MutexLock l(&mu_);
  on_signal_ = std::move(on_signal);
  armed_ = true;
}

bool StopSignalWatch::ArmedOrEnding() const { return armed_ || ending_; }

void StopSignalWatch::Loop() {
  if (early_ == EarlyStopSignal::kDefer) {
    // Signals stay pending until there is someone to tell.
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(this, &StopSignalWatch::ArmedOrEnding));
    if (ending_) return;
  }
  const sigset_t set = StopSignalSet();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  std::function<void(int)> on_signal;
  {
    absl::MutexLock l(&mu_);
    if (ending_) return;
    if (!armed_) EndProcessBySignal(sig);  // kEndProcess before Arm
    on_signal = on_signal_;
  }
  on_signal(sig);
}

}  // namespace shoebox
