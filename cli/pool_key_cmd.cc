// `shoebox pool-key` (docs/security.md): the worker pool key pair that
// `shoebox dest add --secret` seals credentials to. Needs no coordinator.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/seal.h"

namespace shoebox::cli {

namespace {

struct PoolKeyArgs {
  std::string private_path, public_path;
};

int PoolKey(const PoolKeyArgs& a) {
  absl::Status s = CreatePoolKeyPair(a.private_path, a.public_path);
  if (!s.ok()) return FailStatus(s);
  std::printf("worker pool key pair written: %s (private, 0600), %s (public)\n",
              a.private_path.c_str(), a.public_path.c_str());
  return 0;
}

}  // namespace

void RegisterPoolKeyCommands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<PoolKeyArgs>();
  auto* poolkey =
      app.add_subcommand("pool-key", "create the worker pool key pair used to seal credentials");
  poolkey->add_option("--private", a->private_path, "private key file (workers only, 0600)")
      ->required();
  poolkey->add_option("--public", a->public_path, "public key file (CLI)")->required();
  ctx.AddHandler(poolkey, [a](CliContext&) { return PoolKey(*a); });
}

}  // namespace shoebox::cli
