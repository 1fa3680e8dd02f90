// Progress reporting for long operations (backup scans, restores, uploads):
// counts files and bytes, computes the rate and an ETA, and shows them
//   - on a terminal: one line on stderr, redrawn in place ("\r...\x1b[K") at
//     most every `redraw_interval`;
//   - otherwise: a structured log line ("progress op=backup files=12
//     files_total=40 bytes=... bytes_total=... rate_bps=... eta_s=...") at
//     most every `log_interval`.
// Reports happen inside Add()/Tick() (no thread of its own): call Tick()
// periodically when work may stall. Finish() prints the final line.
// Add(), SetTotals() and Tick() are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace shoebox {

struct ProgressOptions {
  std::string operation = "progress";  // shown first: "backup", "restore", ...
  int fd = 2;                          // terminal output (stderr)
  // Whether `fd` is a terminal; unset → isatty(fd).
  std::optional<bool> tty;
  absl::Duration redraw_interval = absl::Milliseconds(200);
  absl::Duration log_interval = absl::Seconds(10);
  // Where structured lines go when not on a terminal; default spdlog::info.
  std::function<void(const std::string&)> log_sink;
  // Clock, injectable for tests; default absl::Now.
  std::function<absl::Time()> now;
};

class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressOptions options);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Totals are optional (-1 = unknown; no ETA then) and may grow.
  void SetTotals(int64_t files, int64_t bytes);
  void Add(int64_t files, int64_t bytes);
  // Reports if the interval has passed.
  void Tick();
  // Prints the final line (newline-terminated on a terminal). Idempotent.
  void Finish();

  // The human line now: "backup: 12/40 files, 1.5 GiB/4.0 GiB, 120.0 MiB/s, ETA 0:00:21".
  std::string HumanLine() const;
  // The structured line now (key=value fields).
  std::string StructuredLine() const;

  int64_t files() const { return files_.load(std::memory_order_relaxed); }
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  // Formatting helpers, exposed for tests and other reporters.
  static std::string FormatBytes(double bytes);         // "1.5 GiB"
  static std::string FormatDuration(absl::Duration d);  // "1:02:03" / "0:00:21"

 private:
  void MaybeReport(bool force);
  double RateBytesPerSecond(absl::Time now) const;
  // Seconds left, or negative when unknown.
  double EtaSeconds(absl::Time now) const;
  absl::Time Now() const;

  const ProgressOptions options_;
  const bool tty_;
  const absl::Time start_;
  std::atomic<int64_t> files_{0}, bytes_{0};
  std::atomic<int64_t> total_files_{-1}, total_bytes_{-1};
  absl::Mutex mu_;
  absl::Time last_report_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace shoebox
