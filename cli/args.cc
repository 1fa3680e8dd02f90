#include "cli/args.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shoebox::cli {

std::string FormatTime(int64_t unix_ms) {
  if (unix_ms <= 0) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                          absl::LocalTimeZone());
}

absl::StatusOr<int64_t> ParseAt(const std::string& s) {
  if (s.empty()) return 0;
  bool digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  int64_t ms = 0;
  if (digits && absl::SimpleAtoi(s, &ms)) return ms;
  absl::Time t;
  std::string err;
  for (const char* fmt : {absl::RFC3339_full, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(fmt, s, absl::LocalTimeZone(), &t, &err)) return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--at '", s,
      "': not a time; use e.g. 2026-11-26T18:00:00Z, '2026-11-26 18:00' or 2026-11-26"));
}

absl::StatusOr<uint32_t> ParseTtl(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("--ttl: empty; use e.g. 24h, 90m, 2d");
  uint64_t mult = 1;
  std::string num = text;
  switch (text.back()) {
    case 's':
      mult = 1;
      num.pop_back();
      break;
    case 'm':
      mult = 60;
      num.pop_back();
      break;
    case 'h':
      mult = 3600;
      num.pop_back();
      break;
    case 'd':
      mult = 86400;
      num.pop_back();
      break;
    default:
      break;
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(num, &n) || n == 0 || n * mult > 30ull * 86400) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ttl '", text, "': use a duration like 24h, 90m or 2d (at most 30d)"));
  }
  return static_cast<uint32_t>(n * mult);
}

absl::StatusOr<v1::JobState> ParseJobState(const std::string& s) {
  static const std::map<std::string, v1::JobState> m = {
      {"queued", v1::JOB_STATE_QUEUED}, {"leased", v1::JOB_STATE_LEASED},
      {"done", v1::JOB_STATE_DONE},     {"retry", v1::JOB_STATE_RETRY_WAIT},
      {"dead", v1::JOB_STATE_DEAD},     {"cancelled", v1::JOB_STATE_CANCELLED}};
  auto it = m.find(s);
  if (it == m.end())
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown job state '", s, "'; use queued, leased, done, retry, dead or cancelled"));
  return it->second;
}

std::string JobStateName(v1::JobState s) {
  switch (s) {
    case v1::JOB_STATE_QUEUED:
      return "queued";
    case v1::JOB_STATE_LEASED:
      return "leased";
    case v1::JOB_STATE_DONE:
      return "done";
    case v1::JOB_STATE_RETRY_WAIT:
      return "retry";
    case v1::JOB_STATE_DEAD:
      return "dead";
    case v1::JOB_STATE_CANCELLED:
      return "cancelled";
    default:
      return "?";
  }
}

absl::StatusOr<std::map<std::string, std::string>> ParseKeyValues(
    const std::vector<std::string>& kvs, const char* flag) {
  std::map<std::string, std::string> m;
  for (const auto& kv : kvs) {
    auto pos = kv.find('=');
    if (pos == std::string::npos || pos == 0)
      return absl::InvalidArgumentError(absl::StrCat(flag, " '", kv, "': expected KEY=VALUE"));
    m[kv.substr(0, pos)] = kv.substr(pos + 1);
  }
  return m;
}

}  // namespace shoebox::cli
