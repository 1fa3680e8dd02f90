// Validation of relative paths that cross a trust boundary (reported by an
// agent, placed at a destination, restored to disk).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace shoebox {

// A relative path is valid when it is non-empty, at most 4096 bytes, does not
// start with '/', has no empty, "." or ".." component and no NUL byte, and
// each component is at most 255 bytes. Any other byte (non-UTF-8 included)
// is allowed. Error: INVALID_ARGUMENT naming `field` and the printable path.
absl::Status ValidateRelativePath(std::string_view path, std::string_view field);

// An absolute folder root: starts with '/', no NUL, at most 4096 bytes.
absl::Status ValidateAbsolutePath(std::string_view path, std::string_view field);

}  // namespace shoebox
