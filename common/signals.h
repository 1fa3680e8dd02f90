// Stopping a daemon on SIGINT or SIGTERM, shared by the agent, the worker
// and the coordinator. No code runs in a signal handler: the signals are
// blocked in every thread and one thread takes them with sigwait(), so the
// callback may do anything (lock, log, call Stop()).
//
// Use:
//   int main() {
//     ... parse flags ...
//     shoebox::BlockStopSignals();  // before the first thread starts
//     auto server = Start(...);
//     auto watch = shoebox::StopOnSignals([&](int) { server->Stop(); });
//     server->Run();
//   }  // `watch` ends before `server` is destroyed (declared after it)
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace shoebox {

// Blocks SIGINT and SIGTERM in the calling thread; threads it starts later
// inherit the block. Call it in main before any thread starts: a thread
// started earlier would take the signal with its default action and end
// the process. A signal that arrives between this call and StopOnSignals
// waits and goes to the callback as soon as the watch starts.
// Child processes that common/subprocess.h starts get an empty mask.
void BlockStopSignals();

// A thread waiting for SIGINT or SIGTERM. The first one calls on_signal
// with its number, on that thread, once; later signals stay blocked and do
// nothing (as a second Ctrl-C during a graceful stop did before).
class StopSignalWatch {
 public:
  // Blocks the signals in the calling thread (BlockStopSignals) and starts
  // the waiting thread.
  explicit StopSignalWatch(std::function<void(int)> on_signal);
  StopSignalWatch(const StopSignalWatch&) = delete;
  StopSignalWatch& operator=(const StopSignalWatch&) = delete;
  // Ends the watch and joins its thread (waiting for a callback that is
  // running). When no signal came, on_signal is never called; a signal that
  // arrives while the watch ends may be dropped.
  ~StopSignalWatch();

 private:
  void Loop();

  const std::function<void(int)> on_signal_;
  std::atomic<bool> ending_{false};
  std::thread thread_;
};

// A watch calling on_signal (the signals are blocked in the calling thread).
std::unique_ptr<StopSignalWatch> StopOnSignals(std::function<void(int)> on_signal);

}  // namespace shoebox
