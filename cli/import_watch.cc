// `shoebox import takeout --watch DIR` (issue 21; docs/transfers.md,
// "A watched folder"): Takeout archives dropped into DIR are imported once
// they have settled, every part of an export together.
//
// - An export's parts share a name up to "-NNN" (takeout-20240101T000000Z-
//   001.zip, -002.zip, ...); archives of one export form one group. Google
//   says nowhere how many parts there will be, so a group is imported when
//   none of its archives changed for --settle seconds (size and mtime), and
//   imported again, whole, when a part is added or replaced later: the
//   coordinator makes no second version of what it has, and a sidecar in the
//   new part is matched with its photo in an old one.
// - What was imported is remembered in DIR/.shoebox-takeout.json (or
//   --state FILE): group -> the parts' names, sizes and mtimes, written
//   atomically after each group. Archives are never moved or deleted.
// - A group that fails (a damaged archive, the coordinator away) is logged
//   and tried again at the next poll; --once makes one pass and exits 1 if
//   any group failed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/client.h"
#include "cli/import_watch.h"
#include "common/bytes.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace fs = std::filesystem;

namespace {

bool IsArchive(const std::string& name) {
  return !absl::StartsWith(name, ".") &&
         (absl::EndsWith(name, ".zip") || absl::EndsWith(name, ".tgz") ||
          absl::EndsWith(name, ".tar.gz"));
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

absl::StatusOr<nlohmann::json> LoadState(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::FailedPreconditionError(absl::StrCat(
        PrintablePath(path),
        " is not the JSON this command writes; move it away to import every archive again"));
  }
  return j;
}

absl::Status SaveState(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write ", PrintablePath(tmp),
                       "; give a writable --state FILE or make the folder writable"));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::FailedPreconditionError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

std::string TakeoutGroup(const std::string& name) {
  std::string base = name;
  for (const char* ext : {".tar.gz", ".tgz", ".zip"}) {
    if (absl::EndsWith(base, ext)) {
      base.resize(base.size() - std::string_view(ext).size());
      break;
    }
  }
  const size_t dash = base.rfind('-');
  if (dash != std::string::npos && base.size() - dash == 4 &&
      base.find_first_not_of("0123456789", dash + 1) == std::string::npos) {
    base.resize(dash);
  }
  return base;
}

absl::StatusOr<std::vector<TakeoutGroupState>> ScanTakeoutFolder(const std::string& dir,
                                                                 int64_t now_ns,
                                                                 int64_t settle_ns) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the watched folder ", PrintablePath(dir), ": ", ec.message()));
  }
  std::map<std::string, TakeoutGroupState> groups;
  for (const fs::directory_entry& e : it) {
    const std::string name = e.path().filename().string();
    if (!IsArchive(name)) continue;
    struct stat st;
    if (stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    TakeoutGroupState& g = groups[TakeoutGroup(name)];
    g.name = TakeoutGroup(name);
    g.parts.push_back({e.path().string(), static_cast<uint64_t>(st.st_size), MtimeNs(st)});
    if (now_ns - MtimeNs(st) < settle_ns) g.settled = false;
  }
  std::vector<TakeoutGroupState> out;
  for (auto& [k, g] : groups) {
    std::sort(g.parts.begin(), g.parts.end(),
              [](const TakeoutPart& a, const TakeoutPart& b) { return a.path < b.path; });
    out.push_back(std::move(g));
  }
  return out;
}

namespace {

nlohmann::json PartsJson(const TakeoutGroupState& g) {
  nlohmann::json parts = nlohmann::json::array();
  for (const TakeoutPart& p : g.parts) {
    parts.push_back({{"name", fs::path(p.path).filename().string()},
                     {"size", p.size},
                     {"mtime_ns", p.mtime_ns}});
  }
  return parts;
}

}  // namespace

int WatchTakeoutFolder(const WatchOptions& o, const ImportFn& import) {
  const std::string state_path =
      o.state_file.empty() ? (fs::path(o.dir) / ".shoebox-takeout.json").string() : o.state_file;
  absl::StatusOr<nlohmann::json> state = LoadState(state_path);
  if (!state.ok()) return FailStatus(state.status());
  std::fprintf(stderr, "watching %s for Takeout archives (settle %ds, every %ds; state in %s)\n",
               PrintablePath(o.dir).c_str(), o.settle_seconds, o.interval_seconds,
               PrintablePath(state_path).c_str());
  std::map<std::string, std::string> waiting_said;
  for (;;) {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    absl::StatusOr<std::vector<TakeoutGroupState>> groups =
        ScanTakeoutFolder(o.dir, now, int64_t{o.settle_seconds} * 1000000000);
    if (!groups.ok()) return FailStatus(groups.status());
    bool failed = false;
    for (const TakeoutGroupState& g : *groups) {
      const nlohmann::json parts = PartsJson(g);
      if (state->contains(g.name) && (*state)[g.name] == parts) continue;  // imported as it is
      if (!g.settled) {
        const std::string key = parts.dump();
        if (waiting_said[g.name] != key) {
          std::fprintf(stderr, "takeout %s: %zu part(s), still being written; waiting %ds\n",
                       g.name.c_str(), g.parts.size(), o.settle_seconds);
          waiting_said[g.name] = key;
        }
        continue;
      }
      std::vector<std::string> files;
      for (const TakeoutPart& p : g.parts) files.push_back(p.path);
      std::fprintf(stderr, "takeout %s: importing %zu part(s)\n", g.name.c_str(), files.size());
      if (import(files) != 0) {
        std::fprintf(stderr,
                     "takeout %s: the import failed (above); it is tried again at the next "
                     "look at the folder\n",
                     g.name.c_str());
        failed = true;
        continue;
      }
      (*state)[g.name] = parts;
      if (absl::Status st = SaveState(state_path, *state); !st.ok()) return FailStatus(st);
    }
    if (o.once) return failed ? 1 : 0;
    std::this_thread::sleep_for(std::chrono::seconds(o.interval_seconds));
  }
}

}  // namespace shoebox::cli
