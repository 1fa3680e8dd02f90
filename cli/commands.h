// The `shoebox` command line (docs/cli.md): one file per command family,
// each registered the same way on the shared CliContext (cli/context.h).
// main.cc loads cli.toml, calls RegisterCommands, parses and runs
// ctx.RunParsed().
#pragma once

#include "CLI/CLI.hpp"
#include "cli/context.h"

namespace shoebox::cli {

// The description `shoebox --help` starts with.
inline constexpr char kCliDescription[] =
    "shoebox: manage a Shoebox backup system (status, destinations, restore, ...)";

// The global flags (--coordinator, --insecure-dev, bound to ctx.options())
// and every family below, in the order `shoebox --help` lists them.
void RegisterCommands(CLI::App& app, CliContext& ctx);

// status_cmd.cc: `status` (--json, --watch), `devices`.
void RegisterStatusCommands(CLI::App& app, CliContext& ctx);
// destinations_cmd.cc: `dest add|set|list|remove|pause|resume|check|kinds`.
void RegisterDestinationCommands(CLI::App& app, CliContext& ctx);
// bindings_cmd.cc: `bind`, `unbind`, `bindings`.
void RegisterBindingCommands(CLI::App& app, CliContext& ctx);
// jobs_cmd.cc: `jobs`, `cancel`, `retry`, `prioritize`.
void RegisterJobCommands(CLI::App& app, CliContext& ctx);
// versions_cmd.cc: `versions`, `restore`.
void RegisterVersionCommands(CLI::App& app, CliContext& ctx);
// pool_key_cmd.cc: `pool-key` (needs no coordinator).
void RegisterPoolKeyCommands(CLI::App& app, CliContext& ctx);
// retention_cmd.cc: `retention set`, `retention show`, `prune`.
void RegisterRetentionCommands(CLI::App& app, CliContext& ctx);
// worker_scope_cmd.cc: `worker scope`.
void RegisterWorkerCommands(CLI::App& app, CliContext& ctx);
// identity_cmd.cc: `enroll-token`, `certs`, `revoke`.
void RegisterIdentityCommands(CLI::App& app, CliContext& ctx);
// recovery_cmd.cc: `snapshot`, `recover` (no coordinator), `key export`
// (works when the coordinator does not answer).
void RegisterRecoveryCommands(CLI::App& app, CliContext& ctx);
// verify_cmd.cc: `verify`.
void RegisterVerifyCommands(CLI::App& app, CliContext& ctx);
// setup_cmd.cc: `setup` (as root, after `apt install shoebox-server`).
void RegisterSetupCommands(CLI::App& app, CliContext& ctx);
// `dest connect` and `authorize` (dest_connect.cc): OAuth 2.0 sign-in.
void RegisterOAuthCommands(CLI::App& app, CliContext& ctx);
// import_takeout.cc: `import takeout` (issue 21).
void RegisterImportCommands(CLI::App& app, CliContext& ctx);
// web/web_cmd.cc: `web serve`, `web user add|list|passwd` (docs/web.md).
void RegisterWebCommands(CLI::App& app, CliContext& ctx);
// cli/transfer_cmd.cc (issue 21): transfer add|list|pause|resume|cancel.
void RegisterTransferCommands(CLI::App& app, CliContext& ctx);
// notify_cmd.cc: `notify add|list|remove|test|set`, `device ping-url`
// (docs/notifications.md).
void RegisterNotifyCommands(CLI::App& app, CliContext& ctx);

}  // namespace shoebox::cli
