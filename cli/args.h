// Parsing and printing of command-line values shared by the command
// families (times, durations, job states, KEY=VALUE lists).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
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

// Job states, one vocabulary everywhere (jobs, versions, status; docs/cli.md
// "Job states"): pending, in-flight, delivered, retrying, dead, cancelled.
// --state also takes the older names queued, leased, done, retry and failed,
// and "in flight" / "in_flight"; INVALID_ARGUMENT listing the names otherwise.
absl::StatusOr<v1::JobState> ParseJobState(const std::string& s);
// The name of a state as every command prints it; "?" for an unknown state.
std::string JobStateName(v1::JobState s);
// The names ParseJobState takes first, comma-separated, for help texts.
std::string JobStateNames();

// What `versions` and `restore` ask the coordinator for (ListVersionsRequest
// folder and path), from the PATH the user gave and --folder.
struct CatalogPath {
  std::string folder;  // a folder root of the device, or "" for all
  std::string path;    // relative to the folder root, or "" for everything
  // How an absolute path was matched ("/home/ann/Pictures/2024 is 2024 in
  // folder /home/ann/Pictures"); "" when nothing was mapped.
  std::string note;
};

// Whether ResolveCatalogPath needs the device's folder roots for `path`.
bool NeedsDeviceFolders(const std::string& path);

// A relative `path` ("2024/", "./DCIM//a.jpg") loses empty and "."
// components, so a trailing slash means the same directory. An absolute path
// on the device is mapped through `device_folders` (the device's folder
// roots): the longest root containing it becomes the folder and the rest the
// path, and `note` says so; a path under no root is NOT_FOUND listing the
// roots, and a --folder other than the root it lies in is INVALID_ARGUMENT.
absl::StatusOr<CatalogPath> ResolveCatalogPath(const std::string& device, const std::string& path,
                                               const std::string& folder,
                                               const std::vector<std::string>& device_folders);

// KEY=VALUE arguments of option `flag` (named in the error); a later KEY
// replaces an earlier one.
absl::StatusOr<std::map<std::string, std::string>> ParseKeyValues(
    const std::vector<std::string>& kvs, const char* flag);

// CLI11 checks that run ParseJobState, ParseAt and ParseTtl while the
// command line is parsed, so a bad value is a usage error (exit 2) naming
// the value and what to use instead, before any call is made.
CLI::Validator JobStateCheck();
CLI::Validator TimeCheck();
CLI::Validator TtlCheck();

// After app.parse() threw: --help and --version print to `out` and give 0;
// every other parse error is a usage error: one line on `err` naming the
// command, what is wrong and `shoebox CMD --help`, and exit code 2
// (docs/cli.md "Exit codes"), whatever CLI11's own exit code for it is.
int HandleParseError(const CLI::App& app, const CLI::ParseError& e, std::ostream& out,
                     std::ostream& err);

}  // namespace shoebox::cli
