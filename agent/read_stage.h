// The agent's reading/chunking stage: a bounded queue of settled files and
// the reader threads that chunk and hash each one (ChunkHasher) and record
// the result in the index and outbox (StateDb).
//
// Threads: Enqueue() on the scan thread; Loop() on each reader thread; the
// other methods on any thread.
//
// Lock order: a reader holds mu_ while it hands a file back through
// Outputs::retry / Outputs::check, so that "queued or being read" and
// "handed back" never look empty at the same time (Agent's run --once
// completion check relies on it). The receivers take only their own lock and
// never call into this stage from there.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/hasher.h"
#include "agent/index_format.h"
#include "agent/progress.h"
#include "agent/scanner.h"
#include "agent/state_db.h"

namespace shoebox::agent {

// A settled file to read: its folder, relative directory and name, and the
// stat it had when it was found settled.
struct HashTask {
  Folder* folder = nullptr;
  std::string dir, name;
  FileStat stat;
};

class ReadStage {
 public:
  // Files waiting in the queue at most; Enqueue blocks beyond that.
  static constexpr size_t kQueueCapacity = 256;

  // Where the readers hand files back. `retry` and `check` are called on a
  // reader thread with this stage's lock held (see the lock order above).
  struct Outputs {
    // Changed while it was read, or could not be recorded: settle it again.
    std::function<void(HashTask)> retry;
    // Vanished before it could be read: check (folder, relative path) again.
    std::function<void(Folder*, const std::string&)> check;
    // A file was read and recorded (the outbox may have grown). Called
    // without the lock.
    std::function<void()> read_done;
  };

  // `db` and `stats` are borrowed and must outlive the stage. `hasher` may be
  // null: readers wait until SetHasher() (the session keys come with the
  // coordinator's Hello). With `once`, the pause flag is ignored.
  ReadStage(StateDb* db, AgentStats* stats, bool once, std::shared_ptr<const ChunkHasher> hasher,
            Outputs out);

  ReadStage(const ReadStage&) = delete;
  ReadStage& operator=(const ReadStage&) = delete;

  // Counts the file as waiting, marks it in flight and queues it; blocks
  // while the queue is full (the readers are behind). After Stop() it queues
  // without waiting.
  void Enqueue(HashTask t) ABSL_LOCKS_EXCLUDED(mu_);

  // The file (MakeKey) is queued or being read.
  bool Busy(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);
  // Nothing queued and nothing being read.
  bool Idle() ABSL_LOCKS_EXCLUDED(mu_);

  // The hasher of the current session keys (null before the first Hello).
  std::shared_ptr<const ChunkHasher> hasher() ABSL_LOCKS_EXCLUDED(mu_);
  // New session keys; wakes the readers.
  void SetHasher(std::shared_ptr<const ChunkHasher> h) ABSL_LOCKS_EXCLUDED(mu_);

  // A full scan starts: unreadable files are logged again when they fail again.
  void ForgetDeniedLog() ABSL_LOCKS_EXCLUDED(mu_);
  // The pause flag may have changed: readers look again.
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);
  // Readers return from Loop() soon; Enqueue stops blocking. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // One reader thread: takes files off the queue until Stop().
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  // Files that could not be read since the start (permission denied, I/O
  // errors).
  uint64_t unreadable() const { return unreadable_.load(); }

 private:
  // Reads, hashes and records one file; hands it back when needed.
  void Read(const HashTask& t, const std::shared_ptr<const ChunkHasher>& h)
      ABSL_LOCKS_EXCLUDED(mu_);

  StateDb* const db_;
  AgentStats* const stats_;
  const bool once_;
  const Outputs out_;

  absl::Mutex mu_;
  absl::CondVar cv_;  // queue, hasher, pause or stop changed
  std::deque<HashTask> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);  // keys queued or being read
  std::shared_ptr<const ChunkHasher> hasher_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> denied_logged_
      ABSL_GUARDED_BY(mu_);  // keys whose permission error was logged
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> unreadable_{0};
};

}  // namespace shoebox::agent
