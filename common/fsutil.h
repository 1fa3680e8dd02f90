// Small file-system helpers shared by the stores and connectors that write
// durably (temp file + fsync + rename + directory fsync).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace shoebox {

// fsyncs the directory `dir` so a rename or create inside it is durable.
// Errors name the directory (ErrnoToStatus codes: ENOSPC → RESOURCE_EXHAUSTED, ...).
absl::Status FsyncDirectory(const std::string& dir);

}  // namespace shoebox
