// `shoebox verify` (issue 7; docs/cli.md, docs/verify.md): one verification
// run on the coordinator, printed as a report.
#pragma once

#include <string>

#include "CLI/CLI.hpp"
#include "cli/client.h"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::cli {

struct VerifyArgs {
  double scrub_percent = 100;
  bool remote = false;
  std::string destination;
  uint32_t test_restore = 0;
  bool json = false;
};

// Adds the subcommand; its options fill `args`.
CLI::App* AddVerifyCommand(CLI::App& app, VerifyArgs* args);
// Runs it; returns the exit code (0 all good, 1 damage open, a test restore
// failed, or the call failed).
int RunVerify(AdminClient& client, const VerifyArgs& args);

}  // namespace shoebox::cli
