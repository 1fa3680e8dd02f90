#include "coordinator/notify/settings.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace shoebox::coordinator::notify {

const std::vector<SettingInfo>& SettingKeys() {
  static const std::vector<SettingInfo> kKeys = {
      {"interval", "30s", "how often the coordinator evaluates the conditions"},
      {"destination_failing_after", "15m",
       "a destination failing or refusing its credentials this long is announced (off: never)"},
      {"device_silent_after", "3d", "a device not seen this long is announced (off: never)"},
      {"device_no_backup_after", "7d",
       "a device seen but with no new backup this long is announced (off: never)"},
      {"disk_full_percent", "90",
       "the chunk store's disk this full (percent used) is announced (0: never)"},
      {"rate_limit_per_hour", "10",
       "messages per channel per hour; the rest are folded into one \"and K more\" (0: no "
       "limit)"},
      {"email_from", "shoebox@HOSTNAME", "the From address of email notifications"},
      {"tls_ca_file", "", "a PEM bundle to trust for SMTP/HTTPS instead of the system's CAs"},
  };
  return kKeys;
}

absl::StatusOr<int64_t> ParseDurationMs(const std::string& raw) {
  const std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
  if (v == "off") return -1;
  int64_t unit = 0;
  if (!v.empty()) {
    switch (v.back()) {
      case 's':
        unit = 1000;
        break;
      case 'm':
        unit = 60 * 1000;
        break;
      case 'h':
        unit = 3600 * 1000;
        break;
      case 'd':
        unit = 24LL * 3600 * 1000;
        break;
      default:
        break;
    }
  }
  int64_t n = 0;
  if (unit == 0 || !absl::SimpleAtoi(v.substr(0, v.size() - 1), &n) || n < 0 ||
      n > 3650LL * 24 * 3600) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", raw, "\" is not a duration: give a number and a unit (90s, 15m, 2h, 3d) or off"));
  }
  return n * unit;
}

absl::Status ValidateSetting(const std::string& key, const std::string& value) {
  auto bad = [&](const absl::Status& st) {
    return absl::InvalidArgumentError(absl::StrCat("notify setting ", key, ": ", st.message()));
  };
  if (key == "interval") {
    absl::StatusOr<int64_t> ms = ParseDurationMs(value);
    if (!ms.ok()) return bad(ms.status());
    if (*ms < 1000) return bad(absl::InvalidArgumentError("give at least 1s"));
    return absl::OkStatus();
  }
  if (key == "destination_failing_after" || key == "device_silent_after" ||
      key == "device_no_backup_after") {
    absl::StatusOr<int64_t> ms = ParseDurationMs(value);
    return ms.ok() ? absl::OkStatus() : bad(ms.status());
  }
  if (key == "disk_full_percent" || key == "rate_limit_per_hour") {
    int n = 0;
    const int max = key == "disk_full_percent" ? 100 : 100000;
    if (!absl::SimpleAtoi(value, &n) || n < 0 || n > max) {
      return bad(absl::InvalidArgumentError(
          absl::StrCat("\"", value, "\" is not a whole number from 0 to ", max)));
    }
    return absl::OkStatus();
  }
  if (key == "email_from") {
    if (value.find('@') == std::string::npos ||
        value.find_first_of("<>\r\n ") != std::string::npos) {
      return bad(absl::InvalidArgumentError(
          absl::StrCat("\"", value, "\" is not a plain address like shoebox@example.org")));
    }
    return absl::OkStatus();
  }
  if (key == "tls_ca_file") {
    if (!value.empty() && value[0] != '/') {
      return bad(absl::InvalidArgumentError("give an absolute path (or \"\" for the system's)"));
    }
    return absl::OkStatus();
  }
  std::string keys;
  for (const SettingInfo& k : SettingKeys())
    absl::StrAppend(&keys, keys.empty() ? "" : ", ", k.key);
  return absl::InvalidArgumentError(
      absl::StrCat("notify setting \"", key, "\" does not exist; the settings are: ", keys));
}

Settings ResolveSettings(const std::map<std::string, std::string>& stored) {
  Settings s;
  auto duration = [&](const char* key, int64_t* out) {
    auto it = stored.find(key);
    if (it == stored.end()) return;
    absl::StatusOr<int64_t> ms = ParseDurationMs(it->second);
    if (ms.ok()) *out = *ms;
  };
  auto number = [&](const char* key, int* out) {
    auto it = stored.find(key);
    int n = 0;
    if (it != stored.end() && absl::SimpleAtoi(it->second, &n) && n >= 0) *out = n;
  };
  duration("interval", &s.interval_ms);
  if (s.interval_ms < 1000) s.interval_ms = 1000;
  duration("destination_failing_after", &s.destination_failing_ms);
  duration("device_silent_after", &s.device_silent_ms);
  duration("device_no_backup_after", &s.device_no_backup_ms);
  number("disk_full_percent", &s.disk_full_percent);
  number("rate_limit_per_hour", &s.rate_limit_per_hour);
  if (auto it = stored.find("email_from"); it != stored.end()) s.email_from = it->second;
  if (auto it = stored.find("tls_ca_file"); it != stored.end()) s.tls_ca_file = it->second;
  return s;
}

}  // namespace shoebox::coordinator::notify
