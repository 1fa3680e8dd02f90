// shoebox: loads cli.toml, registers the commands, parses and runs the one
// given. Exit codes: 0 success, 1 operation failed, 2 usage.
#include "CLI/CLI.hpp"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/context.h"
#include "common/locks.h"

int main(int argc, char** argv) {
  shoebox::DisableMutexDeadlockDetection();
  auto options = shoebox::cli::LoadClientOptions();
  if (!options.ok()) return shoebox::cli::FailStatus(options.status());
  shoebox::cli::CliContext ctx(*options);
  CLI::App app{shoebox::cli::kCliDescription};
  shoebox::cli::RegisterCommands(app, ctx);
  CLI11_PARSE(app, argc, argv);
  return ctx.RunParsed();
}
