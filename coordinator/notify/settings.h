// Notification settings (`shoebox notify set KEY VALUE`,
// docs/notifications.md): thresholds and the sender's details, stored as
// text in notify_settings and resolved here with their defaults. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::coordinator::notify {

struct Settings {
  int64_t interval_ms = 30 * 1000;                       // evaluation period
  int64_t destination_failing_ms = 15 * 60 * 1000;       // -1: off
  int64_t device_silent_ms = 3LL * 24 * 3600 * 1000;     // -1: off
  int64_t device_no_backup_ms = 7LL * 24 * 3600 * 1000;  // -1: off
  int disk_full_percent = 90;                            // 0: off
  int rate_limit_per_hour = 10;                          // 0: no limit
  std::string email_from;                                // "": shoebox@HOSTNAME
  std::string tls_ca_file;                               // "": the system's CAs
};

struct SettingInfo {
  std::string key;
  std::string default_value;
  std::string description;
};

// Every key, in the order `notify list` prints them.
const std::vector<SettingInfo>& SettingKeys();

// "90s", "15m", "2h", "3d" (a number and a unit) or "off" (-1).
absl::StatusOr<int64_t> ParseDurationMs(const std::string& value);

// INVALID_ARGUMENT naming the key and the accepted form when `key` is
// unknown or `value` does not parse.
absl::Status ValidateSetting(const std::string& key, const std::string& value);

// The stored values over the defaults (a stored value that no longer parses
// keeps the default).
Settings ResolveSettings(const std::map<std::string, std::string>& stored);

}  // namespace shoebox::coordinator::notify
