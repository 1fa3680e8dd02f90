// Local directory / NAS mount destination.
//
// Put writes "<dir>/.<name>.shoebox-tmp-<random>" in the target directory,
// fsyncs it, sets the mtime, stores the SHA-256 in the extended attribute
// "user.shoebox.sha256" (when the file system supports xattrs), renames it
// over the final name and fsyncs the directory: a reader never sees a partial
// file under the final name, and a crash leaves at most a hidden temp file
// (List skips them). Folders are created once and remembered.
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

absl::StatusOr<std::unique_ptr<Connector>> MakeLocalConnector(const nlohmann::json& settings,
                                                              const nlohmann::json& credentials);

}  // namespace shoebox::worker
