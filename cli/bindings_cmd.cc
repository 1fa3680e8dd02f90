// `shoebox bind`, `unbind`, `bindings` (docs/cli.md): which device folders
// are delivered to which destination.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

struct BindArgs {
  std::string device, folder, dest;
  bool backfill = true;
};

int Bind(AdminClient& client, const BindArgs& a) {
  v1::BindFolderRequest req;
  req.set_device(a.device);
  req.set_folder(a.folder);
  req.set_destination(a.dest);
  req.set_backfill(a.backfill);
  v1::BindFolderResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->BindFolder(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "bind");
  std::printf("bound %s%s%s to %s; %llu deliveries created for files already backed up\n",
              a.device.c_str(), a.folder.empty() ? "" : ":", a.folder.c_str(), a.dest.c_str(),
              (unsigned long long)r.jobs_created());
  return 0;
}

int Unbind(AdminClient& client, const BindArgs& a) {
  v1::UnbindFolderRequest req;
  req.set_device(a.device);
  req.set_folder(a.folder);
  req.set_destination(a.dest);
  v1::UnbindFolderResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->UnbindFolder(ctx.get(), req, &r);
  if (!s.ok()) {
    const int rc = FailRpc(s, "unbind");
    return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 2 : rc;
  }
  std::printf(
      "unbound %s%s%s from %s: %llu delivery job(s) not started yet cancelled; running ones "
      "finish, and copies already delivered stay at the destination\n",
      a.device.c_str(), a.folder.empty() ? " (all folders)" : ":", a.folder.c_str(), a.dest.c_str(),
      static_cast<unsigned long long>(r.jobs_cancelled()));
  return 0;
}

int Bindings(AdminClient& client, const BindArgs& a, bool as_json) {
  v1::ListBindingsRequest req;
  req.set_device(a.device);
  req.set_destination(a.dest);
  v1::ListBindingsResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListBindings(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "listing bindings");
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : r.bindings()) {
      out.push_back({{"device", b.device()},
                     {"folder", PrintablePath(b.folder())},
                     {"destination", b.destination()},
                     {"created_unix_ms", b.created_unix_ms()}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (r.bindings().empty()) {
    std::printf("no bindings; `shoebox bind --device D --dest NAME` adds one\n");
    return 0;
  }
  std::printf("%-20s %-40s %-20s %s\n", "DEVICE", "FOLDER", "DESTINATION", "SINCE");
  for (const auto& b : r.bindings()) {
    std::printf("%-20s %-40s %-20s %s\n", b.device().c_str(),
                b.folder().empty() ? "(all folders)" : PrintablePath(b.folder()).c_str(),
                b.destination().c_str(), FormatTime(b.created_unix_ms()).c_str());
  }
  return 0;
}

}  // namespace

void RegisterBindingCommands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<BindArgs>();
  auto* bind =
      app.add_subcommand("bind", "deliver a device's folder (or all its folders) to a destination");
  bind->add_option("--device", a->device, "device name")->required();
  bind->add_option("--folder", a->folder,
                   "absolute folder root on the device (default: all folders)");
  bind->add_option("--dest", a->dest, "destination name")->required();
  bind->add_flag("!--no-backfill", a->backfill, "do not deliver files already backed up");
  ctx.AddAdminHandler(bind, [a](CliContext&, AdminClient& client) { return Bind(client, *a); });

  auto u = std::make_shared<BindArgs>();
  auto* unbind = app.add_subcommand(
      "unbind", "stop delivering a device's folder (or the whole-device binding) to a destination");
  unbind->add_option("--device", u->device, "device name")->required();
  unbind->add_option("--folder", u->folder,
                     "the bound folder root (default: the whole-device binding)");
  unbind->add_option("--dest", u->dest, "destination name")->required();
  ctx.AddAdminHandler(unbind, [u](CliContext&, AdminClient& client) { return Unbind(client, *u); });

  auto l = std::make_shared<BindArgs>();
  auto* bindings = app.add_subcommand("bindings", "which device folders go to which destination");
  bindings->add_option("--device", l->device, "only this device");
  bindings->add_option("--dest", l->dest, "only this destination");
  bindings->add_flag("--json", ctx.json(), "JSON output");
  ctx.AddAdminHandler(
      bindings, [l](CliContext& c, AdminClient& client) { return Bindings(client, *l, c.json()); });
}

}  // namespace shoebox::cli
