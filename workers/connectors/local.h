// Local directory / NAS mount destination.
//
// Put writes "<dir>/.<name>.shoebox-tmp-<random>" in the target directory,
// fsyncs it, sets the mtime, stores the SHA-256 in the extended attribute
// "user.shoebox.sha256" and the mtime it was recorded for (nanoseconds) in
// "user.shoebox.sha256_mtime" (when the file system supports xattrs), renames it
// over the final name and fsyncs the directory: a reader never sees a partial
// file under the final name, and a crash leaves at most a hidden temp file
// (List skips them), which the Put that completes the retried delivery of
// that name removes (a writer holds an flock on its temp file; a killed
// writer's lock is gone). Folders are created once and remembered.
//
// Stat reports "sha256:<hex>" only while the file's mtime is still the one
// recorded with it: a file written in place (one flipped byte keeps its
// xattrs but not its mtime) is no longer vouched for, so a verify reads it
// (docs/verify.md). RecordChecksum records both again for the file as it is.
//
// Settings: {"root": "/abs/dir", "fsync": true}. No credentials.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

inline constexpr char kLocalTempMarker[] = ".shoebox-tmp-";
inline constexpr char kLocalSha256Xattr[] = "user.shoebox.sha256";
inline constexpr char kLocalSha256MtimeXattr[] = "user.shoebox.sha256_mtime";

absl::StatusOr<std::unique_ptr<Connector>> MakeLocalConnector(const nlohmann::json& settings,
                                                              const nlohmann::json& credentials);

}  // namespace shoebox::worker
