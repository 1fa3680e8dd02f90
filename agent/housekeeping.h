// The agent's housekeeping stage. Once a second its thread applies
// pause/resume (the control file, control.h) and the backup window, updates
// the upload and progress rates, writes the status file for
// `shoebox-agent status` and draws the progress line. It also keeps the
// full-rescan schedule: the rescan interval and rescans requested by other
// stages (inotify overflow, new session keys).
//
// Threads: Loop() on the housekeeping thread; the other methods on any
// thread.
#pragma once

#include <chrono>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/progress.h"
#include "agent/state_db.h"
#include "common/steady_wait.h"

namespace shoebox::agent {

class Housekeeping {
 public:
  // `cfg`, `db` and `stats` are borrowed and must outlive the stage.
  // `on_tick` runs after each update of the pause and window flags (the
  // readers look at the pause flag again). With `once`, pause and backup
  // window do not apply; with `progress_line`, the line is drawn on stderr.
  Housekeeping(const AgentConfig* cfg, bool once, bool progress_line, StateDb* db,
               AgentStats* stats, std::function<void()> on_tick);

  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  // The housekeeping thread: runs until Stop().
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // Loop() returns soon. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // What `shoebox-agent status` and the heartbeat show now.
  StatusSnapshot Snapshot() ABSL_LOCKS_EXCLUDED(mu_);

  // The next TakeRescanDue() returns true.
  void RequestRescan() ABSL_LOCKS_EXCLUDED(mu_);
  // A full scan starts now.
  void FullScanStarted(std::chrono::steady_clock::time_point now) ABSL_LOCKS_EXCLUDED(mu_);
  // Scan thread: a full scan is due (requested since the last call, or the
  // rescan interval has passed since the last full scan). Clears the request.
  bool TakeRescanDue(std::chrono::steady_clock::time_point now) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void UpdateRates() ABSL_LOCKS_EXCLUDED(mu_);
  void SleepInterruptibly(std::chrono::milliseconds d) ABSL_LOCKS_EXCLUDED(mu_);

  const AgentConfig* const cfg_;
  const bool once_;
  const bool progress_line_;
  StateDb* const db_;
  AgentStats* const stats_;
  const std::function<void()> on_tick_;

  absl::Mutex mu_;
  SteadyCondVar cv_;  // stop (timed waits on the monotonic clock)
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  RateMeter upload_rate_ ABSL_GUARDED_BY(mu_);    // chunk bytes uploaded
  RateMeter progress_rate_ ABSL_GUARDED_BY(mu_);  // file bytes acknowledged
  bool rescan_requested_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point last_full_scan_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::agent
