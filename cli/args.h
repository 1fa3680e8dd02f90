// Parsing and printing of command-line values shared by the command
// families (times, durations, job states, KEY=VALUE lists).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::cli {

// "2026-11-26 18:00:00" in local time; "never" for 0 or less.
std::string FormatTime(int64_t unix_ms);

// --at: RFC 3339 ("2026-11-26T18:00:00Z"), "YYYY-MM-DD HH:MM[:SS]" (local
// time), "YYYY-MM-DD" (local midnight) or Unix milliseconds; "" is 0 (now).
// INVALID_ARGUMENT naming the value otherwise.
absl::StatusOr<int64_t> ParseAt(const std::string& s);

// --ttl: "24h", "90m", "3600s", "2d", "3600" → seconds, at most 30 days;
// INVALID_ARGUMENT otherwise.
absl::StatusOr<uint32_t> ParseTtl(const std::string& text);

// --state: queued, leased, done, retry, dead or cancelled.
absl::StatusOr<v1::JobState> ParseJobState(const std::string& s);
// The name ParseJobState takes; "?" for an unknown state.
std::string JobStateName(v1::JobState s);

// KEY=VALUE arguments of option `flag` (named in the error); a later KEY
// replaces an earlier one.
absl::StatusOr<std::map<std::string, std::string>> ParseKeyValues(
    const std::vector<std::string>& kvs, const char* flag);

}  // namespace shoebox::cli
