#include "agent/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace shoebox::agent {
namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void AgentStats::SetError(const std::string& e) {
  absl::MutexLock l(&mu_);
  last_error_ = e;
  last_error_unix_ms_ = NowMs();
}
std::string AgentStats::last_error() const {
  absl::MutexLock l(&mu_);
  return last_error_;
}
int64_t AgentStats::last_error_unix_ms() const {
  absl::MutexLock l(&mu_);
  return last_error_unix_ms_;
}

std::string StatusSnapshot::ToJson() const {
  nlohmann::json j;
  j["pid"] = pid;
  j["updated_unix_ms"] = updated_unix_ms;
  j["state"] = state;
  j["device"] = device;
  j["coordinator"] = coordinator;
  j["connected"] = connected;
  j["files_pending"] = files_pending;
  j["bytes_pending"] = bytes_pending;
  j["files_done"] = files_done;
  j["bytes_done"] = bytes_done;
  j["upload_rate_bps"] = upload_rate_bps;
  j["progress_rate_bps"] = progress_rate_bps;
  j["eta_seconds"] = eta_seconds;
  j["last_error"] = last_error;
  j["last_error_unix_ms"] = last_error_unix_ms;
  j["offline_since_unix_ms"] = offline_since_unix_ms;
  j["failed_attempts"] = failed_attempts;
  j["reconnects"] = reconnects;
  j["chunks_uploaded"] = chunks_uploaded;
  j["chunk_bytes_uploaded"] = chunk_bytes_uploaded;
  j["bytes_read"] = bytes_read;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<StatusSnapshot> StatusSnapshot::FromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return absl::DataLossError("agent status file is not a JSON object");
  StatusSnapshot s;
  auto get = [&](const char* k, auto* out) {
    auto it = j.find(k);
    if (it != j.end() && !it->is_null()) {
      using T = std::remove_pointer_t<decltype(out)>;
      if constexpr (std::is_same_v<T, std::string>) {
        if (it->is_string()) *out = it->template get<std::string>();
      } else if constexpr (std::is_same_v<T, bool>) {
        if (it->is_boolean()) *out = it->template get<bool>();
      } else {
        if (it->is_number()) *out = it->template get<T>();
      }
    }
  };
  get("pid", &s.pid);
  get("updated_unix_ms", &s.updated_unix_ms);
  get("state", &s.state);
  get("device", &s.device);
  get("coordinator", &s.coordinator);
  get("connected", &s.connected);
  get("files_pending", &s.files_pending);
  get("bytes_pending", &s.bytes_pending);
  get("files_done", &s.files_done);
  get("bytes_done", &s.bytes_done);
  get("upload_rate_bps", &s.upload_rate_bps);
  get("progress_rate_bps", &s.progress_rate_bps);
  get("eta_seconds", &s.eta_seconds);
  get("last_error", &s.last_error);
  get("last_error_unix_ms", &s.last_error_unix_ms);
  get("offline_since_unix_ms", &s.offline_since_unix_ms);
  get("failed_attempts", &s.failed_attempts);
  get("reconnects", &s.reconnects);
  get("chunks_uploaded", &s.chunks_uploaded);
  get("chunk_bytes_uploaded", &s.chunk_bytes_uploaded);
  get("bytes_read", &s.bytes_read);
  return s;
}

std::string HumanBytes(uint64_t b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  if (u == 0) return absl::StrCat(b, " B");
  return absl::StrFormat("%.1f %s", v, units[u]);
}

std::string HumanDuration(int64_t s) {
  if (s < 0) return "unknown";
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

std::string StatusSnapshot::ToText(int64_t now_ms) const {
  std::ostringstream o;
  bool stale = now_ms - updated_unix_ms > 30000;
  o << "device:       " << device << "\n";
  o << "coordinator:  " << coordinator << (connected ? " (connected)" : " (not connected)") << "\n";
  o << "state:        " << state;
  if (state == "offline" && offline_since_unix_ms > 0) {
    o << " for " << HumanDuration((now_ms - offline_since_unix_ms) / 1000) << " ("
      << failed_attempts << " failed attempts to reach the coordinator";
    if (reconnects > 0) o << ", connections rebuilt " << reconnects << " times since start";
    o << "; changes wait in the outbox)";
  }
  if (stale)
    o << " (status is " << HumanDuration((now_ms - updated_unix_ms) / 1000)
      << " old: is the agent running?)";
  o << "\n";
  o << "pending:      " << files_pending << " files, " << HumanBytes(bytes_pending) << "\n";
  o << "done:         " << files_done << " files, " << HumanBytes(bytes_done) << " since start\n";
  o << "rate:         " << HumanBytes(upload_rate_bps) << "/s upload, "
    << HumanBytes(progress_rate_bps) << "/s backed up\n";
  o << "eta:          " << (files_pending == 0 ? "-" : HumanDuration(eta_seconds)) << "\n";
  if (!last_error.empty()) {
    o << "last error:   " << last_error << " ("
      << HumanDuration((now_ms - last_error_unix_ms) / 1000) << " ago)\n";
  }
  return o.str();
}

absl::Status WriteStatusFile(const std::string& state_dir, const StatusSnapshot& s) {
  std::string path = state_dir + "/status.json";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, "write agent status file " + tmp);
  std::string j = s.ToJson();
  ssize_t n = ::write(fd, j.data(), j.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(j.size()))
    return absl::UnavailableError("short write of agent status file " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return ErrnoToStatus(errno, "rename agent status file " + path);
  return absl::OkStatus();
}

absl::StatusOr<StatusSnapshot> ReadStatusFile(const std::string& state_dir) {
  std::string path = state_dir + "/status.json";
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("no agent status at ", path,
                     ": the agent has not run with this state directory (see --config)"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return StatusSnapshot::FromJson(ss.str());
}

double RateMeter::Update(uint64_t value, double t) {
  if (!started_) {
    started_ = true;
    last_value_ = value;
    last_t_ = t;
    return rate_;
  }
  double dt = t - last_t_;
  if (dt <= 0) return rate_;
  double inst = static_cast<double>(value - last_value_) / dt;
  double alpha = std::min(1.0, dt / 5.0);  // ~5 s smoothing
  rate_ = rate_ + alpha * (inst - rate_);
  last_value_ = value;
  last_t_ = t;
  return rate_;
}

}  // namespace shoebox::agent
