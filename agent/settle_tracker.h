// The agent's settle-tracking stage: new and changed files wait here until
// they count as settled, then go to the read stage. Two rules:
//   - closed: inotify reported that the file's writer closed it
//     (IN_CLOSE_WRITE), no write (IN_MODIFY), no create or rename onto the
//     name and no open (IN_OPEN, which may be a writer) without its close
//     followed, and its size/mtime/ctime/inode stayed the same for
//     `confirm_ns` (agent.close_confirm_ms, 300 ms by default);
//   - waited: otherwise (a file seen by a scan only, still open, growing,
//     or after lost events), unchanged for `settle_ns` (settle.h).
// A file opened or written again before it is read starts over; a changed
// stat without a write (touch, chmod) restarts the confirmation. Files handed back by other stages
// (changed while read, vanished, changed before upload, lost by the coordinator) wait in an inbox
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
  // Clock of the tracker; tests pass a fake one.
  class Clock {
   public:
    virtual ~Clock() = default;
    virtual int64_t SteadyNs() const;  // monotonic: the tracker's own times
    virtual int64_t WallNs() const;    // compared with mtime/ctime
  };

  static constexpr int64_t kDefaultConfirmNs = 300000000LL;

  // `clock` is borrowed (null: the real clocks).
  SettleTracker(int64_t settle_ns, StateDb* db, Scanner* scanner, ReadStage* reader,
                AgentStats* stats, int64_t confirm_ns = kDefaultConfirmNs,
                const Clock* clock = nullptr);

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

  // Scan thread. The inotify events of one batch for one path, in order
  // (IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_CREATE,
  // IN_MOVED_TO; others are ignored), after the path was checked (so that a
  // new or changed file already waits here). A path that does not wait is
  // ignored: it is unchanged, excluded, gone or already read.
  void OnEvents(Folder* f, const std::string& dir, const std::string& name,
                const std::vector<uint32_t>& masks);

  // Scan thread. Some file waits to settle.
  bool Waiting() const { return !unsettled_.empty(); }
  // Scan thread. The earliest time (SteadyNs of the clock) at which Process()
  // has something to look at; INT64_MAX when nothing waits.
  int64_t NextDueNs() const;

  // Why the last file handed to the read stage was let go (tests and logs).
  enum class Reason { kNone, kClosed, kWaited, kForced };
  Reason last_reason() const { return last_reason_; }

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
    int64_t due_ns;   // when Process() looks at it next (monotonic clock)
    // The writer closed it and nothing wrote, created or renamed onto it
    // since; `opens` counts opens not yet closed (IN_OPEN cannot tell a
    // reader from a writer, so any open holds the file until it is closed).
    bool closed = false;
    int opens = 0;
    int64_t event_ns = 0;  // when the last event was applied (monotonic)
  };

  // SettleDueNs on the monotonic clock (`seen_ns` and the result).
  int64_t DueNs(const FileStat& st, int64_t seen_ns) const;
  // When `u` may be read: the close rule or the full settle time.
  bool ClosedRule(const Unsettled& u) const { return u.closed && u.opens == 0; }
  int64_t ReadyNs(const Unsettled& u) const;
  void Release(Reason why, HashTask t);

  const int64_t settle_ns_;
  const int64_t confirm_ns_;
  const Clock default_clock_;
  const Clock* const clock_;
  StateDb* const db_;
  Scanner* const scanner_;
  ReadStage* const reader_;
  AgentStats* const stats_;

  absl::Mutex mu_;
  std::vector<HashTask> retry_ ABSL_GUARDED_BY(mu_);                          // changed while read
  std::vector<std::pair<Folder*, std::string>> checks_ ABSL_GUARDED_BY(mu_);  // (folder, rel path)

  // Scan thread only: files waiting to settle, by key (MakeKey).
  std::map<std::string, Unsettled> unsettled_;
  Reason last_reason_ = Reason::kNone;
};

}  // namespace shoebox::agent
