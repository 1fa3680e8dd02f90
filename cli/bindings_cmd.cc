// `shoebox bind` (docs/cli.md): deliver a device's folders to a destination.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"

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
}

}  // namespace shoebox::cli
