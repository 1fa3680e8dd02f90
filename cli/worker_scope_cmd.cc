// `shoebox worker scope NAME --kinds K,... | --destinations D,... | --all`:
// what a worker may serve, decided by the admin (issue 17; docs/cli.md,
// docs/security.md "Compromised worker").
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "common/bytes.h"

namespace shoebox::cli {

namespace {

struct ScopeArgs {
  std::string worker;
  std::vector<std::string> kinds, destinations;
  bool all = false;
};

int WorkerScope(AdminClient& client, const ScopeArgs& a) {
  if (a.all == (!a.kinds.empty() || !a.destinations.empty())) {
    std::fprintf(stderr,
                 "shoebox: worker scope %s: give --kinds and/or --destinations, or --all (any "
                 "kind and destination)\n",
                 PrintablePath(a.worker).c_str());
    return 2;
  }
  v1::SetWorkerScopeRequest req;
  req.set_worker(a.worker);
  for (const std::string& k : a.kinds) req.add_kinds(k);
  for (const std::string& d : a.destinations) req.add_destinations(d);
  v1::SetWorkerScopeResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetWorkerScope(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, "setting the worker's scope");
  std::printf(
      "worker '%s' may serve kinds: %s; destinations: %s (from its next lease; what it "
      "registers for is cut to this)\n",
      PrintablePath(a.worker).c_str(),
      a.kinds.empty() ? "any" : PrintablePath(absl::StrJoin(a.kinds, ",")).c_str(),
      a.destinations.empty() ? "any" : PrintablePath(absl::StrJoin(a.destinations, ",")).c_str());
  return 0;
}

}  // namespace

void RegisterWorkerCommands(CLI::App& app, CliContext& ctx) {
  auto* worker = app.add_subcommand("worker", "manage workers");
  worker->require_subcommand(1);
  auto a = std::make_shared<ScopeArgs>();
  auto* scope = worker->add_subcommand(
      "scope",
      "set what a worker may serve (destination kinds and/or names); it cannot register or "
      "lease beyond it");
  scope->add_option("name", a->worker, "worker name (as enrolled)")->required();
  scope->add_option("--kinds", a->kinds, "destination kinds it may serve, comma-separated")
      ->delimiter(',');
  scope
      ->add_option("--destinations", a->destinations,
                   "destination names it may serve, comma-separated")
      ->delimiter(',');
  scope->add_flag("--all", a->all, "any kind and any destination");
  ctx.AddAdminHandler(scope,
                      [a](CliContext&, AdminClient& client) { return WorkerScope(client, *a); });
}

}  // namespace shoebox::cli
