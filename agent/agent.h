// The agent: scans and watches the configured folders, reads settled files
// (chunks, chunk IDs, SHA-256) on every core, keeps the index and outbox in
// RocksDB and drains the outbox to the coordinator.
//
// A pipeline of stages, each with its own lock:
//   scan (the caller of Run(): full scans, inotify events, root checks)
//   → SettleTracker (settle_tracker.h: files wait until they are settled)
//   → ReadStage (read_stage.h: a bounded queue; N reader threads chunk and
//     hash files into the index and outbox)
//   → SendStage (send_stage.h: one sender thread reports the outbox and
//     uploads chunks through Sender)
// and Housekeeping (housekeeping.h: one thread applies pause/resume and the
// backup window, writes the status file, draws the progress line; keeps the
// full-rescan schedule). Files that must be looked at again flow back to the
// SettleTracker's inbox. Agent owns the stages and wires them.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "agent/agent_config.h"
#include "agent/client.h"
#include "agent/control.h"
#include "agent/hasher.h"
#include "agent/progress.h"
#include "agent/scanner.h"
#include "agent/state_db.h"
#include "agent/watcher.h"
#include "common/steady_wait.h"

namespace shoebox::agent {

class Housekeeping;
class ReadStage;
class SendStage;
class SettleTracker;

class Agent final : public ChangeSink {
 public:
  struct Options {
    // Scan, read and upload everything, wait until the coordinator
    // acknowledged it all, then return (ignores pause and backup window).
    bool once = false;
    // See Scanner: accept a folder on a new device or an empty folder root.
    bool accept_folder_changes = false;
    // Draw a live progress line on stderr.
    bool progress_line = false;
  };

  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentConfig cfg, Options opts);
  ~Agent() override;

  // Runs until Stop() (or, with once, until everything is acknowledged).
  absl::Status Run();
  // Thread-safe; Run() returns soon after.
  void Stop();

  const AgentStats& stats() const { return stats_; }
  // Number of files that could not be read in this run (permission denied,
  // I/O errors).
  uint64_t unreadable_files() const;
  StatusSnapshot Snapshot();
  StateDb* db() { return db_.get(); }

  // ChangeSink (scan thread only).
  void OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                   const FileStat& st) override;
  void OnDirectory(Folder* f, const std::string& rel, int dir_fd) override;

 private:
  Agent(AgentConfig cfg, Options opts);
  absl::Status Init();

  // Scan thread.
  absl::Status FullScan();
  void HandleEvents();
  // With once: everything read, sent and acknowledged.
  bool OnceDone();

  const AgentConfig cfg_;
  const Options opts_;
  AgentStats stats_;
  std::unique_ptr<StateDb> db_;
  std::vector<std::unique_ptr<Folder>> folders_;
  std::unique_ptr<Watcher> watcher_;  // scan thread only
  std::unique_ptr<Scanner> scanner_;  // scan thread only
  std::unique_ptr<CoordinatorClient> client_;
  std::unique_ptr<TokenBucket> bucket_;

  // The stages (declared after what they borrow, so destroyed before it).
  std::unique_ptr<ReadStage> reader_;
  std::unique_ptr<SettleTracker> settle_;
  std::unique_ptr<Housekeeping> house_;
  std::unique_ptr<SendStage> sender_;

  std::atomic<bool> stop_{false};
  SteadyNotification stopped_;  // notified once, by the first Stop()

  std::vector<std::thread> threads_;
};

}  // namespace shoebox::agent
