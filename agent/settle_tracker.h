// The agent's settle-tracking stage: new and changed files wait here until
// they count as settled (settle.h: unchanged for settle_seconds), then go to
// the read stage. Files handed back by other stages (changed while read,
// vanished, changed before upload, lost by the coordinator) wait in an inbox
// until the scan thread takes them.
//
// Threads: OnCandidate(), Process() and Waiting() only on the scan thread
// (the caller of Agent::Run), which alone owns the files waiting to settle;
// Retry(), Check() and InboxEmpty() on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/index_format.h"
#include "agent/progress.h"
#include "agent/read_stage.h"
#include "agent/scanner.h"
#include "agent/state_db.h"

namespace shoebox::agent {

class SettleTracker {
 public:
  // Every pointer is borrowed and must outlive the tracker. `scanner` checks
  // paths again; its ChangeSink must forward OnCandidate() here.
  SettleTracker(int64_t settle_ns, StateDb* db, Scanner* scanner, ReadStage* reader,
                AgentStats* stats);

  SettleTracker(const SettleTracker&) = delete;
  SettleTracker& operator=(const SettleTracker&) = delete;

  // Scan thread. A new or changed regular file: queued for reading when it
  // is already settled and not being read, otherwise kept until it is.
  void OnCandidate(Folder* f, const std::string& dir, const std::string& name, const FileStat& st)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Scan thread. Takes the inbox (re-settles handed-back files, checks
  // handed-back paths), then queues every waiting file that has settled —
  // with `force_all`, every waiting file whose stat is still the same.
  // May block in ReadStage::Enqueue.
  void Process(bool force_all) ABSL_LOCKS_EXCLUDED(mu_);

  // Scan thread. Some file waits to settle.
  bool Waiting() const { return !unsettled_.empty(); }

  // Any thread. A file to settle again (it changed while it was read).
  void Retry(HashTask t) ABSL_LOCKS_EXCLUDED(mu_);
  // Any thread. A path (relative to the folder) to check again.
  void Check(Folder* f, const std::string& rel) ABSL_LOCKS_EXCLUDED(mu_);
  // Any thread. Nothing handed back waits in the inbox.
  bool InboxEmpty() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Unsettled {
    Folder* folder;
    std::string dir, name;
    FileStat stat;
    int64_t seen_ns;  // when this exact stat was first seen (monotonic clock)
    int64_t due_ns;   // monotonic clock
  };

  // SettleDueNs on the monotonic clock (`seen_ns` and the result).
  int64_t DueNs(const FileStat& st, int64_t seen_ns) const;

  const int64_t settle_ns_;
  StateDb* const db_;
  Scanner* const scanner_;
  ReadStage* const reader_;
  AgentStats* const stats_;

  absl::Mutex mu_;
  std::vector<HashTask> retry_ ABSL_GUARDED_BY(mu_);                          // changed while read
  std::vector<std::pair<Folder*, std::string>> checks_ ABSL_GUARDED_BY(mu_);  // (folder, rel path)

  // Scan thread only: files waiting to settle, by key (MakeKey).
  std::map<std::string, Unsettled> unsettled_;
};

}  // namespace shoebox::agent
