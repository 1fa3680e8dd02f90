// The connection check of a destination as the CLI runs it: queue a check
// job (CheckDestination), then poll its state until a worker has run it or
// the timeout passes (docs/destinations.md).
#pragma once

#include <chrono>
#include <string>

#include "cli/client.h"

namespace shoebox::cli {

struct CheckOptions {
  bool write_probe = true;
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds poll{200};
};

struct CheckResult {
  bool passed = false;
  std::string detail;   // passed: what the worker checked
  std::string message;  // not passed: what went wrong and what to do
};

// Never throws; every failure (the RPC refused, the check failed, no worker
// took it in time, the check still running) is a result with a message.
CheckResult RunDestinationCheck(AdminClient& client, const std::string& name,
                                const std::string& kind, const CheckOptions& o);

// Seals `secrets_json` (the tokens a sign-in produced) to the worker pool key
// and stores them as destination `name`'s credentials, leaving its settings
// as they are. Returns 0, or prints what failed (`what`: "the refresh token")
// and returns the exit code.
int StoreSignInSecrets(AdminClient& client, const std::string& name,
                       const std::string& secrets_json, const std::string& what);

}  // namespace shoebox::cli
