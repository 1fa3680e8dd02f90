// The coordinator's status as the web server's live updates see it
// (docs/web.md): one thread calls GetStatus every `interval` (2 s) through
// the admin connection and keeps the newest answer with a version number
// that goes up only when the answer changed (or the error did). Each
// GET /api/events stream waits here for a newer version, so a hundred open
// pages cost the coordinator one call per interval. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::cli::web {

class StatusFeed {
 public:
  using Fetch = std::function<absl::StatusOr<shoebox::v1::StatusResponse>()>;
  struct Snapshot {
    uint64_t version = 0;  // 0: nothing fetched yet
    bool ok = false;
    shoebox::v1::StatusResponse status;
    std::string error;  // when !ok: why the coordinator did not answer
  };

  StatusFeed(Fetch fetch, absl::Duration interval)
      : fetch_(std::move(fetch)), interval_(interval) {}
  ~StatusFeed() { Stop(); }
  StatusFeed(const StatusFeed&) = delete;
  StatusFeed& operator=(const StatusFeed&) = delete;

  // Starts the polling thread (the first call at once).
  void Start();
  // Stops it and wakes every waiter; idempotent.
  void Stop();
  bool stopped() const;

  // The newest snapshot.
  Snapshot Latest() const;
  // Waits until a snapshot newer than `after` exists, `timeout` passed or
  // the feed stopped; returns the newest.
  Snapshot WaitNewer(uint64_t after, absl::Duration timeout) const;

  // One poll (the thread's body; tests call it directly).
  void PollOnce();

 private:
  const Fetch fetch_;
  const absl::Duration interval_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Snapshot latest_;           // guarded by mu_
  std::string latest_bytes_;  // guarded by mu_: serialized answer or error
  bool stop_ = false;         // guarded by mu_
  std::thread thread_;
};

}  // namespace shoebox::cli::web
