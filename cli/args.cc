#include "cli/args.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bytes.h"

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

namespace {

// The canonical names, in the order help texts list them.
constexpr std::pair<const char*, v1::JobState> kJobStates[] = {
    {"pending", v1::JOB_STATE_QUEUED}, {"in-flight", v1::JOB_STATE_LEASED},
    {"delivered", v1::JOB_STATE_DONE}, {"retrying", v1::JOB_STATE_RETRY_WAIT},
    {"dead", v1::JOB_STATE_DEAD},      {"cancelled", v1::JOB_STATE_CANCELLED}};

// Older names and spellings --state still takes.
constexpr std::pair<const char*, v1::JobState> kJobStateAliases[] = {
    {"queued", v1::JOB_STATE_QUEUED},     {"leased", v1::JOB_STATE_LEASED},
    {"in_flight", v1::JOB_STATE_LEASED},  {"in flight", v1::JOB_STATE_LEASED},
    {"done", v1::JOB_STATE_DONE},         {"retry", v1::JOB_STATE_RETRY_WAIT},
    {"failed", v1::JOB_STATE_RETRY_WAIT}, {"canceled", v1::JOB_STATE_CANCELLED}};

}  // namespace

absl::StatusOr<v1::JobState> ParseJobState(const std::string& s) {
  const std::string lower = absl::AsciiStrToLower(s);
  for (const auto& [name, state] : kJobStates) {
    if (lower == name) return state;
  }
  for (const auto& [name, state] : kJobStateAliases) {
    if (lower == name) return state;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--state '", s, "': not a job state; use ", JobStateNames()));
}

std::string JobStateName(v1::JobState s) {
  for (const auto& [name, state] : kJobStates) {
    if (s == state) return name;
  }
  return "?";
}

std::string JobStateNames() {
  std::string out;
  for (const auto& entry : kJobStates) absl::StrAppend(&out, out.empty() ? "" : ", ", entry.first);
  return out;
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

namespace {

// "a//b/./c/" → "a/b/c".
std::string CleanRelative(const std::string& path) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    parts.emplace_back(part);
  }
  return absl::StrJoin(parts, "/");
}

}  // namespace

bool NeedsDeviceFolders(const std::string& path) { return !path.empty() && path[0] == '/'; }

absl::StatusOr<CatalogPath> ResolveCatalogPath(const std::string& device, const std::string& path,
                                               const std::string& folder,
                                               const std::vector<std::string>& device_folders) {
  CatalogPath out;
  out.folder = folder;
  while (out.folder.size() > 1 && out.folder.back() == '/') out.folder.pop_back();
  if (!NeedsDeviceFolders(path)) {
    out.path = CleanRelative(path);
    return out;
  }
  const std::string abs = "/" + CleanRelative(path);
  const std::string* best = nullptr;
  for (const std::string& root : device_folders) {
    const bool inside = abs == root || root == "/" || absl::StartsWith(abs, root + "/");
    if (inside && (best == nullptr || root.size() > best->size())) best = &root;
  }
  if (best == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        PrintablePath(abs), " is under none of device ", device, "'s folders (",
        device_folders.empty() ? "it has announced none yet" : absl::StrJoin(device_folders, ", "),
        "); give a path inside one of them, or one relative to its folder root"));
  }
  if (!out.folder.empty() && out.folder != *best) {
    return absl::InvalidArgumentError(absl::StrCat(PrintablePath(abs), " lies in folder ", *best,
                                                   ", not in --folder ", out.folder,
                                                   "; drop --folder or give a path inside it"));
  }
  out.folder = *best;
  out.path = abs == *best ? "" : CleanRelative(abs.substr(best->size()));
  out.note = absl::StrCat(
      PrintablePath(abs), " is ",
      out.path.empty() ? "everything" : absl::StrCat("'", PrintablePath(out.path), "'"),
      " in folder ", PrintablePath(out.folder), " of device ", device);
  return out;
}

namespace {

// "--at 'x': not a time; ..." → "'x': not a time; ..." (CLI11 names the option).
template <typename Parse>
CLI::Validator CheckWith(Parse parse, const char* what) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto r = parse(value);
        if (r.ok()) return "";
        std::string msg(r.status().message());
        if (auto pos = msg.find("': "); pos != std::string::npos)
          msg = absl::StrCat("'", value, "': ", msg.substr(pos + 3));
        return msg;
      },
      what);
}

}  // namespace

CLI::Validator JobStateCheck() { return CheckWith(ParseJobState, "STATE"); }
CLI::Validator TimeCheck() { return CheckWith(ParseAt, "TIME"); }
CLI::Validator TtlCheck() { return CheckWith(ParseTtl, "DURATION"); }

int HandleParseError(const CLI::App& app, const CLI::ParseError& e, std::ostream& out,
                     std::ostream& err) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e, out, err);  // --help, --help-all, --version
  }
  // The deepest command given ("shoebox dest").
  const CLI::App* cmd = &app;
  std::string path = "shoebox";
  for (std::vector<CLI::App*> given = cmd->get_subcommands(); !given.empty();
       given = cmd->get_subcommands()) {
    cmd = given.front();
    path += " " + cmd->get_name();
  }
  std::string what = e.what();
  if (e.get_name() == "RequiredError" && cmd->get_require_subcommand_min() > 0 &&
      cmd->get_subcommands().empty()) {
    std::vector<std::string> names;
    for (const CLI::App* sub : cmd->get_subcommands(
             [](const CLI::App* s) { return !s->get_name().empty() && !s->get_disabled(); })) {
      names.push_back(sub->get_name());
    }
    std::string unknown;
    for (const std::string& r : cmd->remaining()) {
      if (!r.empty() && r[0] != '-') {
        unknown = r;
        break;
      }
    }
    what =
        unknown.empty() ? "a command is required" : absl::StrCat("unknown command '", unknown, "'");
    what += absl::StrCat("; one of: ", absl::StrJoin(names, ", "));
  }
  err << path << ": " << what << "; see `" << path << " --help`\n";
  return 2;
}

}  // namespace shoebox::cli
