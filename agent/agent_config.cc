#include "agent/agent_config.h"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/config.h"
#include "common/paths.h"
#include "common/status.h"

namespace shoebox::agent {
namespace {

std::string Home() {
  const char* h = std::getenv("HOME");
  return h && *h ? h : "/";
}

std::string ExpandTilde(const std::string& p) {
  if (p == "~") return Home();
  if (p.rfind("~/", 0) == 0) return Home() + p.substr(1);
  return p;
}

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

int64_t LocalMinuteOfDay(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  localtime_r(&t, &tm);
  return tm.tm_hour * 60 + tm.tm_min;
}

absl::StatusOr<int> ParseClock(std::string_view sv) {
  std::string s(absl::StripAsciiWhitespace(AbslView(sv)));
  size_t colon = s.find(':');
  int h = 0, m = 0;
  if (colon == std::string_view::npos || !absl::SimpleAtoi(s.substr(0, colon), &h) ||
      !absl::SimpleAtoi(s.substr(colon + 1), &m) || h < 0 || h > 24 || m < 0 || m > 59 ||
      (h == 24 && m != 0)) {
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not a time of day like 22:00"));
  }
  return h * 60 + m;
}

}  // namespace

bool BackupWindow::Contains(int64_t unix_seconds) const {
  if (!enabled) return true;
  int64_t m = LocalMinuteOfDay(unix_seconds);
  if (start_minute == end_minute) return true;
  if (start_minute < end_minute) return m >= start_minute && m < end_minute;
  return m >= start_minute || m < end_minute;  // wraps midnight
}

int64_t BackupWindow::SecondsUntilOpen(int64_t unix_seconds) const {
  if (Contains(unix_seconds)) return 0;
  int64_t m = LocalMinuteOfDay(unix_seconds);
  int64_t diff = (start_minute - m + 24 * 60) % (24 * 60);
  return diff * 60 - (unix_seconds % 60);
}

absl::StatusOr<BackupWindow> ParseBackupWindow(std::string_view text_in) {
  BackupWindow w;
  std::string text(absl::StripAsciiWhitespace(AbslView(text_in)));
  if (text.empty()) return w;
  size_t dash = text.find('-');
  if (dash == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup window '", text, "' must look like \"22:00-06:00\" (start-end, local time)"));
  }
  auto start = ParseClock(text.substr(0, dash));
  auto end = ParseClock(text.substr(dash + 1));
  if (!start.ok()) return Annotate(start.status(), "backup window");
  if (!end.ok()) return Annotate(end.status(), "backup window");
  w.enabled = true;
  w.start_minute = *start % (24 * 60);
  w.end_minute = *end % (24 * 60);
  return w;
}

absl::StatusOr<uint64_t> ParseByteRate(std::string_view text_in) {
  std::string text(text_in);
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (absl::EndsWith(s, "/s")) s.resize(s.size() - 2);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  double num = 0;
  if (i == 0 || !absl::SimpleAtod(s.substr(0, i), &num) || num < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a byte rate like \"10MB\" or \"512KiB\""));
  }
  std::string unit(absl::StripAsciiWhitespace(std::string(s.substr(i))));
  double mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb")
    mult = 1e3;
  else if (unit == "m" || unit == "mb")
    mult = 1e6;
  else if (unit == "g" || unit == "gb")
    mult = 1e9;
  else if (unit == "kib")
    mult = 1024.0;
  else if (unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': unknown unit '", unit, "' (use B, KB, MB, GB, KiB, MiB, GiB)"));
  return static_cast<uint64_t>(std::llround(num * mult));
}

std::string DefaultStateDir() {
  const char* x = std::getenv("XDG_STATE_HOME");
  std::string base = (x && *x == '/') ? std::string(x) : Home() + "/.local/state";
  return base + "/shoebox-agent";
}

absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(Config cfg, Config::Parse(text, source));
  AgentConfig c;
  ASSIGN_OR_RETURN(c.coordinator_address, cfg.RequireString("coordinator.address"));
  ASSIGN_OR_RETURN(c.device_name, cfg.GetString("agent.device_name", Hostname()));
  ASSIGN_OR_RETURN(std::string state_dir, cfg.GetString("agent.state_dir", DefaultStateDir()));
  c.state_dir = ExpandTilde(state_dir);
  ASSIGN_OR_RETURN(c.insecure_dev, cfg.GetBool("coordinator.insecure_dev", false));
  ASSIGN_OR_RETURN(std::string tls_dir, cfg.GetString("coordinator.tls_dir", c.state_dir + "/tls"));
  c.tls_dir = ExpandTilde(tls_dir);
  ASSIGN_OR_RETURN(c.settle_seconds, cfg.GetInt("agent.settle_seconds", c.settle_seconds));
  ASSIGN_OR_RETURN(c.close_confirm_ms, cfg.GetInt("agent.close_confirm_ms", c.close_confirm_ms));
  if (cfg.Has("agent.bandwidth_limit")) {
    auto as_int = cfg.GetInt("agent.bandwidth_limit", 0);
    if (as_int.ok()) {
      if (*as_int < 0)
        return absl::InvalidArgumentError(source + ": agent.bandwidth_limit must be >= 0");
      c.bandwidth_limit = static_cast<uint64_t>(*as_int);
    } else {
      ASSIGN_OR_RETURN(std::string s, cfg.GetString("agent.bandwidth_limit", ""));
      auto rate = ParseByteRate(s);
      if (!rate.ok()) return Annotate(rate.status(), source + ": agent.bandwidth_limit");
      c.bandwidth_limit = *rate;
    }
  }
  ASSIGN_OR_RETURN(std::string window, cfg.GetString("agent.backup_window", ""));
  auto w = ParseBackupWindow(window);
  if (!w.ok()) return Annotate(w.status(), source + ": agent.backup_window");
  c.backup_window = *w;
  ASSIGN_OR_RETURN(c.rescan_interval_seconds,
                   cfg.GetInt("agent.rescan_interval_seconds", c.rescan_interval_seconds));
  ASSIGN_OR_RETURN(c.paused, cfg.GetBool("agent.paused", false));
  ASSIGN_OR_RETURN(int64_t threads, cfg.GetInt("agent.hash_threads", 0));
  c.hash_threads = static_cast<int>(threads);
  ASSIGN_OR_RETURN(int64_t batch, cfg.GetInt("agent.report_batch", c.report_batch));
  c.report_batch = static_cast<int>(batch);
  ASSIGN_OR_RETURN(int64_t streams, cfg.GetInt("agent.upload_streams", c.upload_streams));
  if (streams < 1 || streams > 64)
    return absl::InvalidArgumentError(source + ": agent.upload_streams must be between 1 and 64");
  c.upload_streams = static_cast<int>(streams);
  ASSIGN_OR_RETURN(c.verify_uploads, cfg.GetBool("agent.verify_uploads", false));
  ASSIGN_OR_RETURN(c.rpc_timeout_seconds,
                   cfg.GetInt("agent.rpc_timeout_seconds", c.rpc_timeout_seconds));
  ASSIGN_OR_RETURN(c.log_level, cfg.GetString("agent.log_level", c.log_level));
  ASSIGN_OR_RETURN(c.log_json, cfg.GetBool("agent.log_json", false));

  if (c.settle_seconds < 0)
    return absl::InvalidArgumentError(source + ": agent.settle_seconds must be >= 0");
  if (c.close_confirm_ms < 0)
    return absl::InvalidArgumentError(
        source + ": agent.close_confirm_ms must be >= 0 (milliseconds; default 300)");
  if (c.rescan_interval_seconds < 1) {
    return absl::InvalidArgumentError(source + ": agent.rescan_interval_seconds must be >= 1");
  }
  if (c.report_batch < 1 || c.report_batch > 10000) {
    return absl::InvalidArgumentError(source + ": agent.report_batch must be between 1 and 10000");
  }
  if (c.rpc_timeout_seconds < 1)
    return absl::InvalidArgumentError(source + ": agent.rpc_timeout_seconds must be >= 1");
  if (c.device_name.empty())
    return absl::InvalidArgumentError(source + ": agent.device_name must not be empty");

  ASSIGN_OR_RETURN(std::vector<Config> folders, cfg.GetTables("folder"));
  for (const Config& f : folders) {
    FolderConfig fc;
    ASSIGN_OR_RETURN(std::string path, f.RequireString("path"));
    path = ExpandTilde(path);
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    RETURN_IF_ERROR(ValidateAbsolutePath(path, source + ": [[folder]] path"));
    fc.path = path;
    ASSIGN_OR_RETURN(fc.include, f.GetStrings("include", {}));
    ASSIGN_OR_RETURN(fc.exclude, f.GetStrings("exclude", {}));
    ASSIGN_OR_RETURN(fc.all_files, f.GetBool("all_files", false));
    for (const FolderConfig& other : c.folders) {
      if (other.path == fc.path) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": folder ", PrintablePath(fc.path), " is listed twice"));
      }
    }
    c.folders.push_back(std::move(fc));
  }
  if (c.folders.empty()) {
    return absl::InvalidArgumentError(
        source + ": no [[folder]] configured; add one with path = \"/home/you/Pictures\"");
  }
  c.warnings = cfg.UnknownKeyWarnings();
  return c;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    absl::Status st = ErrnoToStatus(errno, "open agent config " + path);
    return absl::Status(st.code(),
                        absl::StrCat(std::string(st.message()), " (pass --config FILE)"));
  }
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  return ParseAgentConfig(text, path);
}

}  // namespace shoebox::agent
