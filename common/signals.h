// Stopping a daemon on SIGINT or SIGTERM, shared by the agent, the worker
// and the coordinator. No code of ours runs in a signal handler: the
// signals are blocked in every thread and one thread takes them with
// sigwait(), so the callback may do anything (lock, log, call Stop()).
//
// Use:
//   int main() {
//     ... parse flags ...
//     auto watch = std::make_unique<shoebox::StopSignalWatch>(
//         shoebox::EarlyStopSignal::kEndProcess);  // before any thread starts
//     auto server = Start(...);
//     watch->Arm([&](int) { server->Stop(); });
//     server->Run();
//     watch.reset();  // before `server` goes: the callback uses it
//   }
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace shoebox {

// Blocks SIGINT and SIGTERM in the calling thread; threads it starts later
// inherit the block. Child processes that common/subprocess.h starts get an
// empty mask.
void BlockStopSignals();

// What a stop signal does while the watch has no callback yet (before Arm).
enum class EarlyStopSignal {
  // Ends the process as the signal's default action does (killed by it),
  // as before a daemon installs its own handling.
  kEndProcess,
  // Waits: Arm() gets it at once.
  kDefer,
};

// A thread waiting for SIGINT or SIGTERM. Once armed, the first one calls
// the callback with its number, on that thread, once; later signals stay
// blocked and do nothing (as a second Ctrl-C during a graceful stop did).
class StopSignalWatch {
 public:
  // Blocks the signals in the calling thread (BlockStopSignals) and starts
  // the watching thread, which inherits the caller's mask and nice value.
  // Construct it in main before any other thread starts, or call
  // BlockStopSignals() first: a thread started with the signals unblocked
  // would take one with its default action and end the process whatever
  // `early` says.
  explicit StopSignalWatch(EarlyStopSignal early);
  StopSignalWatch(const StopSignalWatch&) = delete;
  StopSignalWatch& operator=(const StopSignalWatch&) = delete;
  // Ends the watch and joins its thread (waiting for a callback that is
  // running). A callback not called by then never is; a signal arriving
  // while the watch ends may be dropped.
  ~StopSignalWatch();

  // Sets the callback. Call at most once.
  void Arm(std::function<void(int)> on_signal);

 private:
  void Loop();
  bool ArmedOrEnding() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const EarlyStopSignal early_;
  absl::Mutex mu_;
  std::function<void(int)> on_signal_ ABSL_GUARDED_BY(mu_);
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace shoebox
