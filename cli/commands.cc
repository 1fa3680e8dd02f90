#include "cli/commands.h"

namespace shoebox::cli {

void RegisterCommands(CLI::App& app, CliContext& ctx) {
  app.require_subcommand(1);
  app.add_option("--coordinator", ctx.options().coordinator, "coordinator address HOST:PORT");
  app.add_flag("--insecure-dev", ctx.options().insecure_dev,
               "plain-text gRPC to a loopback coordinator started with --insecure-dev");
  RegisterStatusCommands(app, ctx);
  RegisterDestinationCommands(app, ctx);
  RegisterBindingCommands(app, ctx);
  RegisterJobCommands(app, ctx);
  RegisterVersionCommands(app, ctx);
  RegisterPoolKeyCommands(app, ctx);
  RegisterRetentionCommands(app, ctx);
  RegisterIdentityCommands(app, ctx);
  RegisterWorkerCommands(app, ctx);
  RegisterRecoveryCommands(app, ctx);
  RegisterVerifyCommands(app, ctx);
  RegisterSetupCommands(app, ctx);
  RegisterOAuthCommands(app, ctx);  // after RegisterDestinationCommands: adds `dest connect`
  RegisterImportCommands(app, ctx);
  RegisterTransferCommands(app, ctx);
  RegisterWebCommands(app, ctx);
  RegisterNotifyCommands(app, ctx);
}

}  // namespace shoebox::cli
