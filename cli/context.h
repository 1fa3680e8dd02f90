// The state every `shoebox` command family shares, and how a family hooks
// its commands in.
//
// Each family (status_cmd.cc, jobs_cmd.cc, ...) exports
//   void RegisterXxxCommands(CLI::App& app, CliContext& ctx);
// which adds its subcommands to `app` and, for every leaf subcommand, a
// handler with ctx.AddHandler(). main.cc parses the command line and calls
// ctx.RunParsed(), which runs the handler of the one subcommand given.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "cli/client.h"

namespace shoebox::cli {

class CliContext {
 public:
  // Runs one parsed command; returns the process exit code (0 success, 1
  // operation failed, 2 usage).
  using Handler = std::function<int(CliContext& ctx)>;
  // A handler of a command that talks to the coordinator.
  using AdminHandler = std::function<int(CliContext& ctx, AdminClient& client)>;

  explicit CliContext(ClientOptions options) : options_(std::move(options)) {}
  CliContext(const CliContext&) = delete;
  CliContext& operator=(const CliContext&) = delete;

  // The coordinator address, deadline and identity: cli.toml, then the
  // global flags (--coordinator, --insecure-dev) write into it while parsing.
  ClientOptions& options() { return options_; }
  const ClientOptions& options() const { return options_; }

  // Output mode: the --json flag of the command given (each command that
  // has one binds it here; only one command is parsed).
  bool& json() { return json_; }
  bool json() const { return json_; }

  // The admin client for options(), made on the first call (commands that
  // need no coordinator never make one). Not OK when the TLS identity cannot
  // be loaded; the message names the file and what to do. Creating it does
  // not connect: gRPC connects on the first call.
  absl::StatusOr<AdminClient*> Admin();

  // Registers `handler` for the subcommand `command` (a leaf: `dest add`,
  // not `dest`). Commands are matched in registration order.
  void AddHandler(const CLI::App* command, Handler handler);
  // Same, for a command that needs the coordinator: makes Admin() first and
  // fails with exit code 1 and its reason when it cannot.
  void AddAdminHandler(const CLI::App* command, AdminHandler handler);
  // The subcommands that have a handler, in registration order (tests).
  std::vector<const CLI::App*> HandledCommands() const;

  // After parsing: runs the handler of the subcommand that was given and
  // returns its exit code; 2 when none was (cannot happen when every leaf
  // has a handler and the app requires a subcommand).
  int RunParsed();

 private:
  struct Entry {
    const CLI::App* command;
    Handler handler;
  };
  ClientOptions options_;
  bool json_ = false;
  std::unique_ptr<AdminClient> admin_;
  std::vector<Entry> handlers_;
};

}  // namespace shoebox::cli
