// The agent's sending stage: its thread says Hello to the coordinator (which
// hands out the session keys), drains the outbox through a Sender (reports
// and chunk uploads, sender.h), sends heartbeats and has files the
// coordinator lost chunks of read again. While the coordinator cannot be
// reached it retries with backoff; changes stay in the outbox meanwhile.
//
// Threads: Loop() on the sender thread; the other methods on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/client.h"
#include "agent/control.h"
#include "agent/hasher.h"
#include "agent/housekeeping.h"
#include "agent/progress.h"
#include "agent/read_stage.h"
#include "agent/restore_orders.h"
#include "agent/scanner.h"
#include "agent/settle_tracker.h"
#include "agent/state_db.h"
#include "common/steady_wait.h"
#include "shoebox/v1/agent.pb.h"

namespace shoebox::agent {

class SendStage {
 public:
  // Every pointer is borrowed and must outlive the stage. The stage takes
  // the session keys into `reader` (ReadStage::SetHasher), hands changed and
  // lost files to `settle`, asks `house` for a rescan when the keys change
  // and for the status it reports in heartbeats. With `once`, pause and
  // backup window do not apply and waits are shorter.
  SendStage(const AgentConfig* cfg, bool once, const std::vector<std::unique_ptr<Folder>>* folders,
            StateDb* db, CoordinatorClient* client, TokenBucket* bucket, AgentStats* stats,
            ReadStage* reader, SettleTracker* settle, Housekeeping* house);

  SendStage(const SendStage&) = delete;
  SendStage& operator=(const SendStage&) = delete;

  // The sender thread: runs until Stop().
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // Loop() returns soon; a round in progress stops between chunks. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // The outbox may have grown: an idle sender looks again.
  void OutboxGrew() ABSL_LOCKS_EXCLUDED(mu_);

  // A Hello and the first heartbeat succeeded: `run --once` does not finish
  // before the coordinator has registered the device, even with nothing to
  // send, nor before the restore requests of that heartbeat are done.
  bool hello_done() const { return hello_done_.load(); }

 private:
  // Takes the session keys of a Hello; new keys reset the index.
  absl::Status OnHello(const v1::HelloResponse& r) ABSL_LOCKS_EXCLUDED(mu_);
  // Polled by the Sender between chunks: not stopped, paused or outside
  // the backup window.
  bool MaySend() ABSL_LOCKS_EXCLUDED(mu_);
  // Sends a heartbeat every 30 s, and within 2 s of a change in what is
  // pending. Returns the heartbeat's error when it could not reach the
  // coordinator (UNAVAILABLE, DEADLINE_EXCEEDED), OK otherwise.
  absl::Status MaybeHeartbeat() ABSL_LOCKS_EXCLUDED(mu_);
  // Bookkeeping of failed and successful calls (status and logs), and the
  // rule that throws the connections away: after kRebuildAfterFailures
  // failures in a row, at most once per kRebuildInterval.
  void NoteFailure(const absl::Status& s, const char* what);
  void NoteSuccess();
  void MaybeRebuildChannels();
  static constexpr int kRebuildAfterFailures = 2;
  static constexpr std::chrono::seconds kRebuildInterval{10};
  // The coordinator lost chunks of these files (HeartbeatResponse.reread):
  // each one still unchanged here is read and reported again, which makes
  // the coordinator ask for the lost chunks.
  void RereadDamaged(const v1::HeartbeatResponse& r);
  // Restore requests of the heartbeat (restore_orders.h), one after the
  // other; the connection error of a report, if any.
  absl::Status RunRestores(const v1::HeartbeatResponse& r);
  // After an idle round: waits until the outbox has entries (or a short
  // timeout), then briefly more when they are all backing off.
  void WaitForWork() ABSL_LOCKS_EXCLUDED(mu_);
  void SleepInterruptibly(std::chrono::milliseconds d) ABSL_LOCKS_EXCLUDED(mu_);
  Folder* FolderById(uint32_t id) const;

  const AgentConfig* const cfg_;
  const bool once_;
  const std::vector<std::unique_ptr<Folder>>* const folders_;
  StateDb* const db_;
  CoordinatorClient* const client_;
  TokenBucket* const bucket_;
  AgentStats* const stats_;
  ReadStage* const reader_;
  SettleTracker* const settle_;
  Housekeeping* const house_;

  absl::Mutex mu_;
  SteadyCondVar cv_;  // outbox grew, stop (timed waits on the monotonic clock)
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<bool> hello_done_{false};

  // Sender thread only.
  int failures_ = 0;  // calls that could not reach the coordinator, in a row
  bool logged_offline_ = false;
  std::chrono::steady_clock::time_point last_ok_, last_rebuild_;
  // The hasher the current Sender was built with (kept alive while it runs).
  std::shared_ptr<const ChunkHasher> sender_hasher_;
  // When each damaged file was last queued again (at most every 10 min).
  std::map<std::string, std::chrono::steady_clock::time_point> reread_at_;
  std::unique_ptr<RestoreRunner> restores_;
  std::chrono::steady_clock::time_point last_heartbeat_;
  uint64_t last_hb_files_ = ~0ull, last_hb_bytes_ = ~0ull;
  // (folder root, reason) of unreadable folders sent in the last heartbeat.
  std::vector<std::pair<std::string, std::string>> last_hb_folder_problems_;
};

}  // namespace shoebox::agent
