// Counters the agent keeps while it runs, the status file it writes for
// `shoebox-agent status`, and the live progress line on a terminal.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace shoebox::agent {

struct AgentStats {
  std::atomic<uint64_t> files_scanned{0};
  std::atomic<bool> scanning{false};
  std::atomic<uint64_t> files_waiting{0};  // unsettled or queued for reading
  std::atomic<uint64_t> bytes_waiting{0};
  std::atomic<uint64_t> files_read{0};
  // Why settle tracking let files go to the read stage (settle_tracker.h):
  // closed by their writer and confirmed unchanged for close_confirm_ms, or
  // unchanged for the full settle_seconds (scans, files still open or
  // growing), or a forced flush.
  std::atomic<uint64_t> settled_on_close{0};
  std::atomic<uint64_t> settled_after_wait{0};
  std::atomic<uint64_t> bytes_read{0};  // file content read (hashing and upload re-reads)
  std::atomic<uint64_t> files_acked{0};
  std::atomic<uint64_t> bytes_acked{0};  // sizes of files fully acknowledged
  std::atomic<uint64_t> chunks_uploaded{0};
  std::atomic<uint64_t> chunk_bytes_uploaded{0};
  std::atomic<uint64_t> deletes_acked{0};
  std::atomic<bool> connected{false};
  // When the agent last lost (or never had) the coordinator, ms since the
  // epoch; 0 while connected.
  std::atomic<int64_t> offline_since_unix_ms{0};
  // Failed attempts to reach the coordinator since it was last reachable,
  // and how often the agent threw its connections away and opened new ones.
  std::atomic<uint64_t> failed_attempts{0};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<bool> paused{false};
  std::atomic<bool> outside_window{false};

  void SetError(const std::string& e);
  std::string last_error() const;
  int64_t last_error_unix_ms() const;

 private:
  mutable absl::Mutex mu_;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  int64_t last_error_unix_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

// What `shoebox-agent status` shows; written as JSON to <state_dir>/status.json.
struct StatusSnapshot {
  int64_t pid = 0;
  int64_t updated_unix_ms = 0;
  std::string
      state;  // "scanning", "uploading", "idle", "paused", "outside backup window", "offline"
  std::string device;
  std::string coordinator;
  bool connected = false;
  uint64_t files_pending = 0;
  uint64_t bytes_pending = 0;
  uint64_t files_done = 0;
  uint64_t bytes_done = 0;
  uint64_t upload_rate_bps = 0;    // chunk bytes sent per second (recent)
  uint64_t progress_rate_bps = 0;  // file bytes acknowledged per second (recent)
  int64_t eta_seconds = -1;        // -1: unknown
  std::string last_error;
  int64_t last_error_unix_ms = 0;
  // While offline: since when (ms since the epoch), failed attempts since,
  // and connection rebuilds since the agent started.
  int64_t offline_since_unix_ms = 0;
  uint64_t failed_attempts = 0;
  uint64_t reconnects = 0;
  // Since the agent started.
  uint64_t chunks_uploaded = 0;
  uint64_t chunk_bytes_uploaded = 0;
  uint64_t bytes_read = 0;  // file content read (hashing and upload re-reads)

  std::string ToJson() const;
  static absl::StatusOr<StatusSnapshot> FromJson(const std::string& json);
  // Human-readable, several lines.
  std::string ToText(int64_t now_unix_ms) const;
};

absl::Status WriteStatusFile(const std::string& state_dir, const StatusSnapshot& s);
absl::StatusOr<StatusSnapshot> ReadStatusFile(const std::string& state_dir);

// "1.2 GB", "340 MB/s", "1h02m".
std::string HumanBytes(uint64_t b);
std::string HumanDuration(int64_t seconds);

// Exponentially smoothed rate from a monotonically increasing counter.
class RateMeter {
 public:
  // Feed the counter's value at time t (seconds); returns the smoothed rate.
  double Update(uint64_t value, double t);
  double rate() const { return rate_; }

 private:
  bool started_ = false;
  uint64_t last_value_ = 0;
  double last_t_ = 0;
  double rate_ = 0;
};

}  // namespace shoebox::agent
