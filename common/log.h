// Logging: spdlog, one line per event; JSON-ish key=value fields.
#pragma once

#include <string>

#include "spdlog/spdlog.h"

namespace shoebox {

// Sets up the default logger: to stderr, level from `level` ("info", "debug",
// ...); `json` switches to one JSON object per line for log collectors.
void InitLogging(const std::string& program, const std::string& level, bool json = false);

}  // namespace shoebox
