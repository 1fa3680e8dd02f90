#include "common/signals.h"

#include <pthread.h>
#include <signal.h>

namespace shoebox {

namespace {

sigset_t StopSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

StopSignalWatch::StopSignalWatch(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  BlockStopSignals();  // the thread inherits the block: sigwait needs it
  thread_ = std::thread([this] { Loop(); });
}

StopSignalWatch::~StopSignalWatch() {
  ending_ = true;
  // Wakes sigwait with a signal for this thread alone (blocked there like
  // everywhere, so it only ends the wait). If the thread already took a
  // signal and returned, the signal is dropped with the thread.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void StopSignalWatch::Loop() {
  const sigset_t set = StopSignalSet();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  if (ending_) return;
  on_signal_(sig);
}

std::unique_ptr<StopSignalWatch> StopOnSignals(std::function<void(int)> on_signal) {
  return std::make_unique<StopSignalWatch>(std::move(on_signal));
}

}  // namespace shoebox
