// shoebox: loads cli.toml, registers the commands, parses and runs the one
// given. Exit codes: 0 success, 1 operation failed, 2 usage.
#include <iostream>

#include "CLI/CLI.hpp"
#include "cli/args.h"
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return shoebox::cli::HandleParseError(app, e, std::cout, std::cerr);
  }
  return ctx.RunParsed();
}
