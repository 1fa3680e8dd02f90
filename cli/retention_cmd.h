// `shoebox retention set|show` and `shoebox prune` (docs/cli.md).
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/client.h"

namespace shoebox::cli {

struct RetentionCommands;

// Registers the subcommands on `app` (before parsing).
std::shared_ptr<RetentionCommands> AddRetentionCommands(CLI::App& app);
// After parsing: runs the one that was given and returns its exit code, or
// -1 when none of them was on the command line.
int RunRetentionCommands(RetentionCommands& rc, AdminClient& client);

}  // namespace shoebox::cli
