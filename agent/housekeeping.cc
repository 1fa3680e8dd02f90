#include "agent/housekeeping.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/control.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Housekeeping::Housekeeping(const AgentConfig* cfg, bool once, bool progress_line, StateDb* db,
                           AgentStats* stats, std::function<void()> on_tick)
    : cfg_(cfg),
      once_(once),
      progress_line_(progress_line),
      db_(db),
      stats_(stats),
      on_tick_(std::move(on_tick)) {}

void Housekeeping::Stop() {
  absl::MutexLock l(&mu_);
  stopping_ = true;
  cv_.SignalAll();
}

void Housekeeping::SleepInterruptibly(std::chrono::milliseconds d) {
  absl::MutexLock l(&mu_);
  const SteadyTime deadline = SteadyNow() + d;
  while (!stopping_) {
    if (cv_.WaitUntil(&mu_, deadline)) break;  // timed out
  }
}

void Housekeeping::RequestRescan() {
  absl::MutexLock l(&mu_);
  rescan_requested_ = true;
}

void Housekeeping::FullScanStarted(std::chrono::steady_clock::time_point now) {
  absl::MutexLock l(&mu_);
  last_full_scan_ = now;
}

bool Housekeeping::TakeRescanDue(std::chrono::steady_clock::time_point now) {
  absl::MutexLock l(&mu_);
  bool full = rescan_requested_;
  rescan_requested_ = false;
  if (now - last_full_scan_ >= std::chrono::seconds(cfg_->rescan_interval_seconds)) full = true;
  return full;
}

void Housekeeping::UpdateRates() {
  absl::MutexLock l(&mu_);
  double t = SteadySeconds();
  upload_rate_.Update(stats_->chunk_bytes_uploaded.load(), t);
  progress_rate_.Update(stats_->bytes_acked.load(), t);
}

StatusSnapshot Housekeeping::Snapshot() {
  StatusSnapshot s;
  s.pid = ::getpid();
  s.updated_unix_ms = WallMs();
  s.device = cfg_->device_name;
  s.coordinator = cfg_->coordinator_address;
  s.connected = stats_->connected.load();
  s.files_pending = db_->outbox_files() + stats_->files_waiting.load();
  s.bytes_pending = db_->outbox_bytes() + stats_->bytes_waiting.load();
  s.files_done = stats_->files_acked.load();
  s.bytes_done = stats_->bytes_acked.load();
  {
    absl::MutexLock l(&mu_);
    s.upload_rate_bps = static_cast<uint64_t>(upload_rate_.rate());
    s.progress_rate_bps = static_cast<uint64_t>(progress_rate_.rate());
  }
  s.eta_seconds =
      s.progress_rate_bps > 0 ? static_cast<int64_t>(s.bytes_pending / s.progress_rate_bps) : -1;
  if (s.bytes_pending == 0 && s.files_pending == 0) s.eta_seconds = 0;
  if (stats_->paused.load() && !once_) {
    s.state = "paused";
  } else if (stats_->outside_window.load() && !once_) {
    s.state = "outside backup window";
  } else if (!s.connected) {
    s.state = "offline";
  } else if (stats_->scanning.load()) {
    s.state = "scanning";
  } else if (s.files_pending > 0) {
    s.state = "uploading";
  } else {
    s.state = "idle";
  }
  s.last_error = stats_->last_error();
  s.last_error_unix_ms = stats_->last_error_unix_ms();
  s.offline_since_unix_ms = s.connected ? 0 : stats_->offline_since_unix_ms.load();
  s.failed_attempts = stats_->failed_attempts.load();
  s.reconnects = stats_->reconnects.load();
  s.chunks_uploaded = stats_->chunks_uploaded.load();
  s.chunk_bytes_uploaded = stats_->chunk_bytes_uploaded.load();
  s.bytes_read = stats_->bytes_read.load();
  return s;
}

void Housekeeping::Loop() {
  bool was_paused = false;
  int tick = 0;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
    }
    auto ctl = ReadControl(cfg_->state_dir);
    bool paused = cfg_->paused;
    if (ctl.ok() && ctl->has_value()) paused = **ctl;
    if (!ctl.ok() && tick % 60 == 0) spdlog::warn("{}", std::string(ctl.status().message()));
    if (paused != was_paused && !once_) spdlog::info(paused ? "paused" : "resumed");
    was_paused = paused;
    stats_->paused = paused;
    int64_t now_s = WallMs() / 1000;
    stats_->outside_window = !cfg_->backup_window.Contains(now_s);
    on_tick_();
    UpdateRates();
    StatusSnapshot snap = Snapshot();
    (void)WriteStatusFile(cfg_->state_dir, snap);
    if (progress_line_) {
      std::string line = absl::StrCat(
          "\r\033[K", snap.state, ": ", snap.files_done, " files, ", HumanBytes(snap.bytes_done),
          " done; ", snap.files_pending, " files, ", HumanBytes(snap.bytes_pending), " pending; ",
          HumanBytes(snap.upload_rate_bps), "/s; ETA ",
          snap.files_pending == 0 ? std::string("-") : HumanDuration(snap.eta_seconds));
      std::fputs(line.c_str(), stderr);
      std::fflush(stderr);
    }
    ++tick;
    SleepInterruptibly(std::chrono::milliseconds(1000));
  }
}

}  // namespace shoebox::agent
