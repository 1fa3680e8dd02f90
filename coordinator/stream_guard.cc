#include "coordinator/stream_guard.h"

#include <grpcpp/server_context.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/log.h"

namespace shoebox::coordinator {

StreamGuard::StreamGuard(uint32_t max_per_caller, absl::Duration idle_timeout)
    : max_per_caller_(max_per_caller), idle_timeout_(idle_timeout) {
  if (idle_timeout_ > absl::ZeroDuration()) watchdog_ = std::thread([this] { Watch(); });
}

StreamGuard::~StreamGuard() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (watchdog_.joinable()) watchdog_.join();
}

void StreamGuard::Opened(grpc::ServerContextBase* ctx, bool client_streams) {
  absl::MutexLock l(&mu_);
  Call& c = calls_[ctx];
  c.ctx = ctx;
  c.client_streams = client_streams;
  c.last = SteadyNow();
}

void StreamGuard::Received(const grpc::ServerContextBase* ctx) {
  absl::MutexLock l(&mu_);
  auto it = calls_.find(ctx);
  if (it != calls_.end()) it->second.last = SteadyNow();
}

void StreamGuard::Closed(const grpc::ServerContextBase* ctx) {
  absl::MutexLock l(&mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) return;
  if (!it->second.caller.empty()) {
    auto pc = per_caller_.find(it->second.caller);
    if (pc != per_caller_.end() && --pc->second == 0) per_caller_.erase(pc);
  }
  calls_.erase(it);
}

absl::Status StreamGuard::Admit(const grpc::ServerContextBase* ctx, const std::string& caller_key,
                                const std::string& caller_label, std::string_view method) {
  absl::MutexLock l(&mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end() || !it->second.caller.empty()) return absl::OkStatus();
  uint32_t& n = per_caller_[caller_key];
  if (max_per_caller_ != 0 && n >= max_per_caller_) {
    if (n == 0) per_caller_.erase(caller_key);
    return absl::ResourceExhaustedError(absl::StrCat(
        AbslView(method), ": ", caller_label, " already has ", max_per_caller_,
        " streams open, the limit (limits.max_streams_per_caller); finish or close one first"));
  }
  ++n;
  it->second.caller = caller_key;
  return absl::OkStatus();
}

uint32_t StreamGuard::OpenStreams(const std::string& caller_key) {
  absl::MutexLock l(&mu_);
  auto it = per_caller_.find(caller_key);
  return it == per_caller_.end() ? 0 : it->second;
}

void StreamGuard::Watch() {
  const absl::Duration tick =
      std::clamp(idle_timeout_ / 4, absl::Milliseconds(100), absl::Seconds(5));
  const auto idle =
      std::chrono::duration_cast<SteadyTime::duration>(absl::ToChronoNanoseconds(idle_timeout_));
  absl::MutexLock l(&mu_);
  while (!stop_) {
    const SteadyTime next = SteadyNow() + absl::ToChronoNanoseconds(tick);
    while (!stop_) {
      if (cv_.WaitUntil(&mu_, next)) break;  // a tick
    }
    if (stop_) break;
    const SteadyTime now = SteadyNow();
    for (auto& [key, c] : calls_) {
      if (!c.client_streams || c.cancelled || now - c.last < idle) continue;
      // Under mu_: Closed (which runs while the call's context still lives)
      // cannot remove it meanwhile.
      c.cancelled = true;
      SPDLOG_WARN("event=stream_idle_cancelled caller=\"{}\" idle_s={}", c.caller,
                  std::chrono::duration_cast<std::chrono::seconds>(now - c.last).count());
      c.ctx->TryCancel();
    }
  }
}

}  // namespace shoebox::coordinator
