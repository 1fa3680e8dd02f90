// A folder watched for Google Takeout archives (`shoebox import takeout
// --watch DIR`, cli/import_watch.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::cli {

struct TakeoutPart {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// The archives of one export: "takeout-20240101T000000Z-001.zip" and
// "-002.zip" are group "takeout-20240101T000000Z".
struct TakeoutGroupState {
  std::string name;
  std::vector<TakeoutPart> parts;  // sorted by path
  bool settled = true;             // no part modified in the settle time
};

// The group name of an archive's file name (its extension and a trailing
// "-NNN" part number cut off).
std::string TakeoutGroup(const std::string& name);

// The archives (.zip, .tgz, .tar.gz; hidden files skipped) directly in
// `dir`, by group, sorted by group name.
absl::StatusOr<std::vector<TakeoutGroupState>> ScanTakeoutFolder(const std::string& dir,
                                                                 int64_t now_ns, int64_t settle_ns);

struct WatchOptions {
  std::string dir;
  std::string state_file;  // "" = DIR/.shoebox-takeout.json
  int settle_seconds = 600;
  int interval_seconds = 30;
  bool once = false;
};

// Imports the archives of one group; 0 on success (prints its own result).
using ImportFn = std::function<int(const std::vector<std::string>& files)>;

// Polls the folder until interrupted (or once); the exit code.
int WatchTakeoutFolder(const WatchOptions& o, const ImportFn& import);

}  // namespace shoebox::cli
