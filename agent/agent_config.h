// The agent's configuration file (TOML). docs/agent.md lists every key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::agent {

struct FolderConfig {
  std::string path;  // absolute, no trailing '/'
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool all_files = false;
};

// "22:00-06:00": uploads only between these local times (wraps midnight).
struct BackupWindow {
  bool enabled = false;
  int start_minute = 0;  // minutes after local midnight
  int end_minute = 0;
  // Whether the local time of `unix_seconds` is inside the window.
  bool Contains(int64_t unix_seconds) const;
  // Seconds until the window opens (0 when inside).
  int64_t SecondsUntilOpen(int64_t unix_seconds) const;
};
absl::StatusOr<BackupWindow> ParseBackupWindow(std::string_view text);

// "10MB", "2.5 MiB", "500k", "0" → bytes per second (0: unlimited).
absl::StatusOr<uint64_t> ParseByteRate(std::string_view text);

struct AgentConfig {
  std::string coordinator_address;  // host:port
  std::string device_name;          // default: hostname
  std::string state_dir;            // default: $XDG_STATE_HOME/shoebox-agent
  // Plain-text gRPC with a metadata identity (the coordinator must run
  // --insecure-dev on loopback). Default: mutual TLS with the identity that
  // `shoebox-agent enroll` stored in tls_dir.
  bool insecure_dev = false;
  std::string tls_dir;  // default: <state_dir>/tls
  std::vector<FolderConfig> folders;
  int64_t settle_seconds = 10;
  // A file its writer closed (inotify IN_CLOSE_WRITE) and nobody opened or
  // wrote since is read once its stat stayed the same this long, instead of
  // settle_seconds (settle_tracker.h).
  int64_t close_confirm_ms = 300;
  uint64_t bandwidth_limit = 0;  // bytes/s, 0 = unlimited
  BackupWindow backup_window;
  int64_t rescan_interval_seconds = 6 * 3600;
  bool paused = false;
  int hash_threads = 0;         // 0: one per core
  int report_batch = 1000;      // files per ReportFiles call (capped by the coordinator)
  int upload_streams = 4;       // parallel PutChunks streams
  bool verify_uploads = false;  // recompute chunk IDs before sending (the coordinator always does)
  int64_t rpc_timeout_seconds = 60;
  std::string log_level = "info";
  bool log_json = false;
  // Keys in the file the agent does not know (a misspelling keeps the
  // default): one line each naming the file, line, key and the known keys
  // (Config::UnknownKeyWarnings). `shoebox-agent run` logs them.
  std::vector<std::string> warnings;
};

// Loads and validates the file. Relative state_dir and "~" are expanded.
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);
absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view text, const std::string& source);

// The default state directory ($XDG_STATE_HOME or ~/.local/state, then
// /shoebox-agent).
std::string DefaultStateDir();

}  // namespace shoebox::agent
