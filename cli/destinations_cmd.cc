// `shoebox dest add` and `shoebox dest list` (docs/cli.md,
// docs/destinations.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/seal.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

struct DestAddArgs {
  std::string name, kind, layout = "{device}/{folder}/{path}";
  std::vector<std::string> set, secret;
  uint32_t max_concurrency = 4;
};

int DestAdd(AdminClient& client, const DestAddArgs& a) {
  auto set = ParseKeyValues(a.set, "--set");
  if (!set.ok()) return FailStatus(set.status());
  auto secret = ParseKeyValues(a.secret, "--secret");
  if (!secret.ok()) return FailStatus(secret.status());
  v1::CreateDestinationRequest req;
  req.set_name(a.name);
  req.set_kind(a.kind);
  json settings = json::object();
  for (auto& [k, v] : *set) settings[k] = v;
  req.set_settings_json(settings.dump());
  if (!secret->empty()) {
    json creds = json::object();
    for (auto& [k, v] : *secret) creds[k] = v;
    auto sealed = SealCredentialsFor(a.name, creds.dump());
    if (!sealed.ok()) return FailStatus(sealed.status());
    req.set_sealed_credentials(*sealed);
  }
  req.set_layout(a.layout);
  req.set_max_concurrency(a.max_concurrency);
  v1::Destination out;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->CreateDestination(ctx.get(), req, &out);
  if (!s.ok()) return FailRpc(s, absl::StrCat("adding destination '", a.name, "'"));
  std::printf("destination %s (%s) added%s\n", out.name().c_str(), out.kind().c_str(),
              secret->empty() ? "" : "; credentials sealed to the worker pool key");
  return 0;
}

int DestList(AdminClient& client) {
  v1::ListDestinationsResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListDestinations(ctx.get(), v1::ListDestinationsRequest(), &r);
  if (!s.ok()) return FailRpc(s, "listing destinations");
  for (const auto& d : r.destinations())
    std::printf("%-20s %-7s layout=%s settings=%s%s\n", d.name().c_str(), d.kind().c_str(),
                d.layout().c_str(), d.settings_json().c_str(),
                d.sealed_credentials().empty() ? "" : " credentials=sealed");
  return 0;
}

}  // namespace

void RegisterDestinationCommands(CLI::App& app, CliContext& ctx) {
  auto* dest = app.add_subcommand("dest", "manage destinations");
  dest->require_subcommand(1);
  auto a = std::make_shared<DestAddArgs>();
  auto* add = dest->add_subcommand("add", "add a destination");
  add->add_option("name", a->name, "destination name")->required();
  add->add_option("--kind", a->kind, "local, s3, webdav, sftp or rclone")->required();
  add->add_option("--set", a->set, "non-secret setting KEY=VALUE (see docs/destinations.md)");
  add->add_option("--secret", a->secret,
                  "secret KEY=VALUE, sealed to the worker pool key before it leaves this machine");
  add->add_option("--layout", a->layout, "placement template");
  add->add_option("--max-concurrency", a->max_concurrency, "jobs at once for this destination");
  ctx.AddAdminHandler(add, [a](CliContext&, AdminClient& client) { return DestAdd(client, *a); });

  auto* list = dest->add_subcommand("list", "list destinations");
  ctx.AddAdminHandler(list, [](CliContext&, AdminClient& client) { return DestList(client); });
}

}  // namespace shoebox::cli
