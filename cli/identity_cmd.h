// `shoebox enroll-token`, `shoebox certs` and `shoebox revoke` (docs/cli.md,
// docs/security.md).
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/client.h"

namespace shoebox::cli {

struct IdentityCommands;

// Registers the subcommands on `app` (before parsing).
std::shared_ptr<IdentityCommands> AddIdentityCommands(CLI::App& app);
// After parsing: runs the one given and returns its exit code, or -1.
int RunIdentityCommands(IdentityCommands& ic, AdminClient& client);

// "24h", "90m", "3600s", "2d", "3600" → seconds; INVALID_ARGUMENT otherwise.
absl::StatusOr<uint32_t> ParseTtl(const std::string& text);

}  // namespace shoebox::cli
