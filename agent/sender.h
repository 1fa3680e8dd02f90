// Drains the outbox: reports pending changes to the coordinator in batches,
// uploads the chunks it lacks over one PutChunks stream, and removes each
// change from the outbox once the coordinator has it completely.
//
// Chunks the coordinator already stores from another device come back as
// challenges (proof of ownership, docs/security.md): the sender reads the
// chunk from the file as for an upload and sends HMAC-SHA256(nonce, chunk)
// instead of the bytes. A refused proof makes it upload that chunk's data
// the next time it is challenged.
//
// Chunk bytes are read again from the file (by offset) after checking that
// its size, mtime, ctime and inode are still those that were read (and, with
// verify_upload_ids, their HMAC); the coordinator recomputes every chunk ID
// and refuses a mismatch. A file that changed since it was read is dropped
// from this round and handed back to the scanner (on_changed), so a version
// is never completed with bytes of another version.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/client.h"
#include "agent/control.h"
#include "agent/hasher.h"
#include "agent/progress.h"
#include "agent/state_db.h"

namespace shoebox::agent {

// How long an outbox entry whose version waits only for another device's
// upload waits before it is reported again, after `waits_so_far` waits:
// 0.2 s for the first 50, then doubling to at most 10 s.
std::chrono::milliseconds WaitForOthersDelay(int waits_so_far);

class Sender {
 public:
  struct Options {
    size_t report_batch = 1000;
    std::chrono::seconds rpc_timeout{60};
    // Parallel PutChunks streams.
    size_t upload_streams = 4;
    // Recompute each chunk's HMAC before sending (the coordinator checks it
    // anyway; the file's stat is always checked before its chunks are read).
    bool verify_upload_ids = false;
  };
  // `may_send` is polled between chunks; when it turns false the round stops
  // early (pause, backup window closing, shutdown). `on_changed` receives
  // (folder id, relative path) of files that changed after they were read.
  Sender(StateDb* db, CoordinatorClient* client, const ChunkHasher* hasher,
         std::map<uint32_t, std::string> roots, AgentStats* stats, TokenBucket* bucket,
         Options opts, std::function<bool()> may_send,
         std::function<void(uint32_t, const std::string&)> on_changed);

  // One round: reports up to one batch of outbox entries and uploads what
  // the coordinator lacks. Returns how many entries were reported (0: nothing
  // to do). Errors are connection-level (UNAVAILABLE, DEADLINE_EXCEEDED, ...)
  // and mean: back off, then try again; nothing acknowledged is lost.
  absl::StatusOr<size_t> RunRound();

 private:
  struct Item;
  // `by_chunk`: chunk ID → the items that need it sent; `proofs`: those of
  // them to prove (chunk ID → the challenge's nonce) rather than upload.
  absl::Status Upload(std::vector<Item>& items,
                      const std::map<std::string, std::vector<size_t>>& by_chunk,
                      const std::map<std::string, std::string>& proofs);
  // Removes a complete entry from the outbox; an incomplete one (another
  // device is sending its chunks) backs off and is reported again.
  void AcknowledgeItem(Item& it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  StateDb* const db_;
  CoordinatorClient* const client_;
  const ChunkHasher* const hasher_;
  const std::map<uint32_t, std::string> roots_;
  AgentStats* const stats_;
  TokenBucket* const bucket_;
  const Options opts_;
  const std::function<bool()> may_send_;
  const std::function<void(uint32_t, const std::string&)> on_changed_;
  std::string cursor_;  // outbox key to continue after (fairness); RunRound's thread only

  // Upload() runs several PutChunks streams, each with an acknowledgement
  // reader thread. mu_ guards the members below and, while those threads
  // run, the Items of the round (failed, remaining, acked, complete).
  absl::Mutex mu_;
  // Entries that failed with a per-file transient error: key → retry time.
  std::map<std::string, std::chrono::steady_clock::time_point> backoff_ ABSL_GUARDED_BY(mu_);
  // Entries waiting for another device's upload: key → waits so far.
  std::map<std::string, int> waits_ ABSL_GUARDED_BY(mu_);
  // Chunks whose proof the coordinator refused: their data is uploaded the
  // next time they are challenged (until an upload is acknowledged).
  std::set<std::string> must_upload_ ABSL_GUARDED_BY(mu_);
  // Proofs answered and refused in this round (for the round's log line).
  std::atomic<uint64_t> proofs_ok_{0}, proofs_refused_{0}, proof_bytes_{0};
};

}  // namespace shoebox::agent
