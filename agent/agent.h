// The agent: scans and watches the configured folders, reads settled files
// (chunks, chunk IDs, SHA-256) on every core, keeps the index and outbox in
// RocksDB and drains the outbox to the coordinator.
//
// Threads: the caller of Run() scans and handles inotify events; N reader
// threads hash files; one sender thread talks to the coordinator; one
// housekeeping thread applies pause/resume, writes the status file and draws
// the progress line.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
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

namespace shoebox::agent {

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
  uint64_t unreadable_files() const { return unreadable_.load(); }
  StatusSnapshot Snapshot();
  StateDb* db() { return db_.get(); }

  // ChangeSink (scan thread only).
  void OnCandidate(Folder* f, const std::string& dir, const std::string& name, const FileStat& st) override;
  void OnDirectory(Folder* f, const std::string& rel, int dir_fd) override;

 private:
  struct HashTask {
    Folder* folder;
    std::string dir, name;
    FileStat stat;
  };
  struct Unsettled {
    Folder* folder;
    std::string dir, name;
    FileStat stat;
    int64_t seen_ns;  // when this exact stat was first seen (wall clock)
    int64_t due_ns;
  };

  Agent(AgentConfig cfg, Options opts) : cfg_(std::move(cfg)), opts_(opts) {}
  absl::Status Init();

  // Scan thread.
  absl::Status FullScan();
  void HandleEvents();
  void ProcessUnsettled(bool force_all);
  void Enqueue(HashTask t);
  bool OnceDone();
  int64_t DueNs(const FileStat& st, int64_t seen_ns) const;

  // Reader threads.
  void HashLoop();
  // Sender thread.
  void SendLoop();
  absl::Status OnHello(const v1::HelloResponse& r);
  bool MaySend();
  // Housekeeping thread.
  void HouseLoop();

  std::shared_ptr<const ChunkHasher> hasher();
  Folder* FolderById(uint32_t id);
  // The coordinator lost chunks of these files (HeartbeatResponse.reread):
  // each one still unchanged here is read and reported again, which makes
  // the coordinator ask for the lost chunks.
  void RereadDamaged(const v1::HeartbeatResponse& r);
  // When each damaged file was last queued again (at most every 10 min).
  std::map<std::string, std::chrono::steady_clock::time_point> reread_at_;
  void SleepInterruptibly(std::chrono::milliseconds d);

  const AgentConfig cfg_;
  const Options opts_;
  AgentStats stats_;
  std::unique_ptr<StateDb> db_;
  std::vector<std::unique_ptr<Folder>> folders_;
  std::unique_ptr<Watcher> watcher_;
  std::unique_ptr<Scanner> scanner_;
  std::unique_ptr<CoordinatorClient> client_;
  std::unique_ptr<TokenBucket> bucket_;

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> unreadable_{0};

  // Guards the queues and sets below.
  std::mutex mu_;
  std::condition_variable cv_;         // queue, keys, stop, pause changes
  std::condition_variable sender_cv_;  // outbox grew
  std::deque<HashTask> queue_;
  std::set<std::string> in_flight_;                      // keys queued or being read
  std::vector<HashTask> retry_;                          // changed while read: settle again
  std::vector<std::pair<Folder*, std::string>> checks_;  // (folder, rel path) to check
  std::shared_ptr<const ChunkHasher> hasher_;
  std::set<std::string> denied_logged_;
  bool full_rescan_requested_ = false;
  // A Hello succeeded: `run --once` does not finish before the coordinator
  // has registered the device, even with nothing to send.
  std::atomic<bool> hello_done_{false};

  // Scan thread only.
  std::map<std::string, Unsettled> unsettled_;
  std::chrono::steady_clock::time_point last_full_scan_;
  bool first_scan_done_ = false;

  // Sender thread only: the hasher its Sender was built with.
  std::shared_ptr<const ChunkHasher> sender_hasher_;
  std::mutex rate_mu_;
  RateMeter upload_rate_;
  RateMeter progress_rate_;

  std::vector<std::thread> threads_;
};

}  // namespace shoebox::agent
