#include "common/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"

namespace shoebox {

ProgressReporter::ProgressReporter(ProgressOptions options)
    : options_(std::move(options)),
      tty_(options_.tty.has_value() ? *options_.tty : ::isatty(options_.fd) == 1),
      start_(options_.now ? options_.now() : absl::Now()),
      last_report_(start_) {}

ProgressReporter::~ProgressReporter() = default;

absl::Time ProgressReporter::Now() const { return options_.now ? options_.now() : absl::Now(); }

void ProgressReporter::SetTotals(int64_t files, int64_t bytes) {
  total_files_.store(files, std::memory_order_relaxed);
  total_bytes_.store(bytes, std::memory_order_relaxed);
}

void ProgressReporter::Add(int64_t files, int64_t bytes) {
  files_.fetch_add(files, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  MaybeReport(false);
}

void ProgressReporter::Tick() { MaybeReport(false); }

void ProgressReporter::Finish() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  MaybeReport(true);
}

double ProgressReporter::RateBytesPerSecond(absl::Time now) const {
  double secs = absl::ToDoubleSeconds(now - start_);
  if (secs <= 0) return 0;
  return static_cast<double>(bytes()) / secs;
}

double ProgressReporter::EtaSeconds(absl::Time now) const {
  const int64_t total = total_bytes_.load(std::memory_order_relaxed);
  const double rate = RateBytesPerSecond(now);
  if (total < 0 || rate <= 0) return -1;
  const double left = static_cast<double>(std::max<int64_t>(0, total - bytes()));
  return left / rate;
}

std::string ProgressReporter::FormatBytes(double b) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  if (u == 0) return absl::StrFormat("%.0f B", b);
  return absl::StrFormat("%.1f %s", b, kUnits[u]);
}

std::string ProgressReporter::FormatDuration(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 0) s = 0;
  return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
}

std::string ProgressReporter::HumanLine() const {
  const absl::Time now = Now();
  const int64_t tf = total_files_.load(std::memory_order_relaxed);
  const int64_t tb = total_bytes_.load(std::memory_order_relaxed);
  std::string line = absl::StrCat(options_.operation, ": ", files());
  if (tf >= 0) absl::StrAppend(&line, "/", tf);
  absl::StrAppend(&line, " files, ", FormatBytes(static_cast<double>(bytes())));
  if (tb >= 0) absl::StrAppend(&line, "/", FormatBytes(static_cast<double>(tb)));
  absl::StrAppend(&line, ", ", FormatBytes(RateBytesPerSecond(now)), "/s");
  const double eta = EtaSeconds(now);
  if (eta >= 0) absl::StrAppend(&line, ", ETA ", FormatDuration(absl::Seconds(std::ceil(eta))));
  return line;
}

std::string ProgressReporter::StructuredLine() const {
  const absl::Time now = Now();
  const double eta = EtaSeconds(now);
  return absl::StrFormat(
      "progress op=%s files=%d files_total=%d bytes=%d bytes_total=%d rate_bps=%.0f eta_s=%s "
      "elapsed_s=%.1f",
      options_.operation, files(), total_files_.load(std::memory_order_relaxed), bytes(),
      total_bytes_.load(std::memory_order_relaxed), RateBytesPerSecond(now),
      eta >= 0 ? absl::StrFormat("%.0f", std::ceil(eta)) : std::string("unknown"),
      absl::ToDoubleSeconds(now - start_));
}

void ProgressReporter::MaybeReport(bool force) {
  const absl::Time now = Now();
  // Held while writing so concurrent reports do not interleave on the terminal.
  absl::MutexLock lock(&mu_);
  if (finished_ && !force) return;
  const absl::Duration interval = tty_ ? options_.redraw_interval : options_.log_interval;
  if (!force && now - last_report_ < interval) return;
  last_report_ = now;
  if (tty_) {
    std::string out = absl::StrCat("\r", HumanLine(), "\x1b[K", force ? "\n" : "");
    size_t off = 0;
    while (off < out.size()) {
      ssize_t w = ::write(options_.fd, out.data() + off, out.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // a broken terminal must not stop the work
      off += static_cast<size_t>(w);
    }
  } else if (options_.log_sink) {
    options_.log_sink(StructuredLine());
  } else {
    spdlog::info("{}", StructuredLine());
  }
}

}  // namespace shoebox
