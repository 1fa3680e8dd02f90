// `shoebox snapshot`, `shoebox recover` and `shoebox key export`
// (docs/recovery.md, docs/cli.md).
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/client.h"

namespace shoebox::cli {

struct RecoveryCommands;

// Registers the subcommands on `app` (before parsing).
std::shared_ptr<RecoveryCommands> AddRecoveryCommands(CLI::App& app);
// After parsing: runs the one that was given and returns its exit code, or
// -1 when none of them was on the command line. `recover` and `key export`
// work without a coordinator; the others connect with `opts`.
int RunRecoveryCommands(RecoveryCommands& rc, const ClientOptions& opts);

}  // namespace shoebox::cli
