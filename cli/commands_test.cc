// The `shoebox` command line as docs/cli.md and the tests that run the
// binary know it: every command, every flag, the usage errors, and that the
// parsed command reaches its handler. A dropped, renamed or added command
// fails here until docs/cli.md and this list agree.
#include "cli/commands.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

// "dest add" for the leaf `add` under `dest`.
std::string PathOf(const CLI::App* command) {
  std::string path = command->get_name();
  for (const CLI::App* p = command->get_parent(); p != nullptr && p->get_parent() != nullptr;
       p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

struct Cli {
  CliContext ctx{ClientOptions{}};
  CLI::App app{kCliDescription};
  Cli() { RegisterCommands(app, ctx); }

  // Parses `args` (without the program name); "" when it parsed, else the
  // CLI11 error name (RequiredError, ValidationError, ...).
  std::string Parse(const std::string& args) {
    try {
      app.parse(args, /*program_name_included=*/false);
      return "";
    } catch (const CLI::ParseError& e) {
      return e.get_name();
    }
  }

  // The handled commands the last Parse marked as given.
  std::vector<std::string> ParsedCommands() const {
    std::vector<std::string> out;
    for (const CLI::App* c : ctx.HandledCommands()) {
      if (c->parsed()) out.push_back(PathOf(c));
    }
    return out;
  }
};

const std::set<std::string> kCommands = {"dest set",
                                         "dest remove",
                                         "dest pause",
                                         "dest resume",
                                         "dest check",
                                         "dest kinds",
                                         "unbind",
                                         "bindings",
                                         "status",
                                         "devices",
                                         "dest add",
                                         "dest list",
                                         "bind",
                                         "jobs",
                                         "cancel",
                                         "retry",
                                         "prioritize",
                                         "versions",
                                         "restore",
                                         "pool-key",
                                         "retention set",
                                         "retention show",
                                         "prune",
                                         "enroll-token",
                                         "certs",
                                         "revoke",
                                         "snapshot",
                                         "recover",
                                         "key export",
                                         "verify",
                                         "setup",
                                         "worker scope",
                                         "dest connect",
                                         "authorize",
                                         "import takeout",
                                         "transfer add",
                                         "transfer list",
                                         "transfer pause",
                                         "transfer resume",
                                         "transfer cancel",
                                         "web serve",
                                         "web user add",
                                         "web user passwd",
                                         "web user list",
                                         "notify add email",
                                         "notify add webhook",
                                         "notify add ntfy",
                                         "notify list",
                                         "notify remove",
                                         "notify test",
                                         "notify set",
                                         "device ping-url"};

// Issue 22, second slice of the web dashboard.
const std::set<std::string> kWebAccountCommands = {"web user totp enable", "web user totp disable",
                                                   "web user bind", "web user unbind"};

TEST(CliCommands, EveryCommandIsRegisteredWithAHandler) {
  Cli cli;
  std::set<std::string> handled;
  for (const CLI::App* c : cli.ctx.HandledCommands()) {
    EXPECT_TRUE(handled.insert(PathOf(c)).second) << "two handlers for " << PathOf(c);
  }
  std::set<std::string> want = kCommands;
  want.insert(kWebAccountCommands.begin(), kWebAccountCommands.end());
  EXPECT_EQ(handled, want);
}

TEST(CliCommands, TopLevelCommandsInHelpOrder) {
  Cli cli;
  std::vector<std::string> names;
  for (const CLI::App* c :
       cli.app.get_subcommands([](CLI::App* s) { return !s->get_name().empty(); })) {
    names.push_back(c->get_name());
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "status",    "devices",   "dest",     "bind",         "unbind",   "bindings",
                "jobs",      "cancel",    "retry",    "prioritize",   "versions", "restore",
                "pool-key",  "retention", "prune",    "enroll-token", "certs",    "revoke",
                "worker",    "snapshot",  "recover",  "key",          "verify",   "setup",
                "authorize", "import",    "transfer", "web",          "notify",   "device"}));
}

// Every flag of every command, as docs/cli.md and the tests use them.
TEST(CliCommands, EveryFlagParsesAndReachesItsCommand) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"status --json --watch 1.5", "status"},
      {"--coordinator 127.0.0.1:1 --insecure-dev status", "status"},
      {"devices", "devices"},
      {"dest add d1 --kind local --set path=/x --set a=b --secret k=v --layout {path} "
       "--max-concurrency 2",
       "dest add"},
      {"dest list --json", "dest list"},
      {"dest add s --kind sftp --set host=h --secret-file private_key=/k --secret password=- "
       "--no-check --check-read-only --check-timeout 5",
       "dest add"},
      {"dest set d1 --set fsync=false --unset a --secret k=- --secret-file p=/f --clear-secrets "
       "--layout {path} --max-concurrency 0 --no-check --check-read-only --check-timeout 9",
       "dest set"},
      {"dest remove d1 --force", "dest remove"},
      {"dest pause d1", "dest pause"},
      {"dest resume d1", "dest resume"},
      {"dest check d1 --check-read-only --check-timeout 3", "dest check"},
      {"dest kinds", "dest kinds"},
      {"dest connect d1 --client-secret-file /s --device-code --no-browser --port 53682 "
       "--timeout 30 --no-check",
       "dest connect"},
      {"dest connect d1 --client-secret-stdin --token-file -", "dest connect"},
      {"authorize dropbox --client-id k --client-secret-file /s --auth-endpoint http://x "
       "--device-code --no-browser --port 0 --timeout 5",
       "authorize"},
      {"dest kinds s3", "dest kinds"},
      {"unbind --device p --folder /f --dest d", "unbind"},
      {"bindings --device p --dest d --json", "bindings"},
      {"bind --device p --folder /f --dest d --no-backfill", "bind"},
      {"bind --device p --dest d", "bind"},
      {"jobs --state dead --state retry --dest d --limit 5", "jobs"},
      {"cancel --job 1 --job 2 --state dead --dest d", "cancel"},
      {"retry --job 1 --state dead --dest d", "retry"},
      {"prioritize --priority 5 --job 1 --state queued --dest d", "prioritize"},
      {"versions laptop DCIM/a.jpg --folder /f --at 2026-01-01", "versions"},
      {"versions laptop", "versions"},
      {"restore --device d --path p --folder /f --at 2026-01-01 --to /tmp/x --overwrite "
       "--wait-repair 0",
       "restore"},
      {"pool-key --private a --public b", "pool-key"},
      {"retention set --device d --folder /f --keep-all-days 1 --keep-daily 2 --keep-weekly 3 "
       "--keep-monthly 4 --keep-yearly 5 --deleted-keep-days 6 --pass-through --reset",
       "retention set"},
      {"retention set --device d --no-pass-through", "retention set"},
      {"retention show --device d --folder /f --json", "retention show"},
      {"prune --dry-run --json", "prune"},
      {"enroll-token --device d --ttl 2h", "enroll-token"},
      {"enroll-token --worker w", "enroll-token"},
      {"enroll-token --worker w --kinds s3,local --destinations a,b", "enroll-token"},
      {"worker scope w --kinds s3,local --destinations a,b", "worker scope"},
      {"worker scope w --all", "worker scope"},
      {"certs", "certs"},
      {"revoke --device d", "revoke"},
      {"revoke --worker w", "revoke"},
      {"revoke --serial 0A1B", "revoke"},
      {"snapshot --list", "snapshot"},
      {"snapshot", "snapshot"},
      {"recover --key k --from /s --database postgresql://x/y --chunk-store /c --snapshot s "
       "--force",
       "recover"},
      {"key export --key-file k", "key export"},
      {"key export", "key export"},
      {"verify --scrub-percent 5 --remote --dest d --test-restore 3 --json", "verify"},
      {"setup --database-url postgresql://x/y --pg-cluster 15/main --pg-socket-dir /run/pg "
       "--listen 0.0.0.0:7443 --metrics-listen 127.0.0.1:1 --tls-name a --tls-name b "
       "--workers 3 --dest-local /srv/b --dest-name nas --backup /p --backup /q --device d "
       "--config-dir /etc/s --state-dir /var/s --agent-state-dir /var/a --user u",
       "setup"},
      {"setup", "setup"},
      {"import takeout /dev/null /dev/null --device gphotos", "import takeout"},
      {"transfer add t --from src --to a,b --pass-through --since 2024-01-01", "transfer add"},
      {"transfer add t --from src --to a --keep", "transfer add"},
      {"transfer list --json", "transfer list"},
      {"transfer pause t", "transfer pause"},
      {"transfer resume t", "transfer resume"},
      {"transfer cancel t", "transfer cancel"},
      {"web serve --listen 0.0.0.0:8443 --cert /c --key /k --idle-minutes 10", "web serve"},
      {"web user add ana --admin --password-stdin", "web user add"},
      {"web user add ben --device phone --device laptop", "web user add"},
      {"web user passwd ana --password-stdin", "web user passwd"},
      {"web user list --json", "web user list"},
      {"web user totp enable ana", "web user totp enable"},
      {"web user totp disable ana", "web user totp disable"},
      {"web user bind ben phone", "web user bind"},
      {"web user unbind ben phone", "web user unbind"},
      {"notify add email m --to a@b.c --smtp smtp://h:587 --user u --password-file /p "
       "--insecure-smtp",
       "notify add email"},
      {"notify add webhook w --url https://h/x --secret-file /s", "notify add webhook"},
      {"notify add ntfy n --url https://ntfy.sh/t", "notify add ntfy"},
      {"notify list", "notify list"},
      {"notify remove m", "notify remove"},
      {"notify test m", "notify test"},
      {"notify set destination_failing_after 15m", "notify set"},
      {"device ping-url laptop https://hc-ping.com/x", "device ping-url"},
  };
  for (const auto& [args, command] : cases) {
    Cli cli;
    EXPECT_EQ(cli.Parse(args), "") << args;
    EXPECT_EQ(cli.ParsedCommands(), std::vector<std::string>{command}) << args;
  }
}

TEST(CliCommands, UsageErrorsStayUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "RequiredError"},                              // a command is required
      {"dest", "RequiredError"},                          // dest add|list
      {"retention", "RequiredError"},                     // retention set|show
      {"key", "RequiredError"},                           // key export
      {"web", "RequiredError"},                           // web serve|user
      {"web user", "RequiredError"},                      // web user add|list|passwd
      {"web user add", "RequiredError"},                  // NAME
      {"web user totp", "RequiredError"},                 // enable|disable
      {"web user bind ben", "RequiredError"},             // DEVICE
      {"web serve --idle-minutes 0", "ValidationError"},  // 1 .. 1440
      {"status --watch 0.01", "ValidationError"},         // at least 0.05 s
      {"verify --scrub-percent 101", "ValidationError"},  // 0 .. 100
      {"enroll-token", "RequiredError"},                  // --device or --worker
      {"enroll-token --device d --worker w", "RequiredError"},
      {"retention set --device d --pass-through --no-pass-through", "ExcludesError"},
      {"bind --device d", "RequiredError"},
      {"unbind --device d", "RequiredError"},
      {"dest remove", "RequiredError"},
      {"dest add x --kind local --check-timeout 0", "ValidationError"},
      {"restore --device d", "RequiredError"},
      {"prioritize --job 1", "RequiredError"},
      {"recover --key k --from f", "RequiredError"},
      {"no-such-command", "RequiredError"},  // not a command: none given
  };
  for (const auto& [args, error] : cases) {
    Cli cli;
    EXPECT_EQ(cli.Parse(args), error) << args;
  }
}

TEST(CliContext, GlobalFlagsAndJsonModeLandInTheContext) {
  Cli cli;
  ASSERT_EQ(cli.Parse("--coordinator 10.0.0.1:7443 --insecure-dev prune --json"), "");
  EXPECT_EQ(cli.ctx.options().coordinator, "10.0.0.1:7443");
  EXPECT_TRUE(cli.ctx.options().insecure_dev);
  EXPECT_TRUE(cli.ctx.json());

  Cli plain;
  ASSERT_EQ(plain.Parse("status"), "");
  EXPECT_FALSE(plain.ctx.json());
  EXPECT_EQ(plain.ctx.options().coordinator, ClientOptions{}.coordinator);
}

TEST(CliContext, AdminClientIsMadeOnceAndOnlyWithAnIdentity) {
  CliContext no_identity{ClientOptions{}};
  EXPECT_EQ(no_identity.Admin().status().code(), absl::StatusCode::kFailedPrecondition);

  ClientOptions dev;
  dev.insecure_dev = true;
  CliContext ctx{dev};
  auto first = ctx.Admin();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, *ctx.Admin());
  EXPECT_TRUE((*first)->options().insecure_dev);
}

TEST(CliContext, CommandNeedingTheCoordinatorFailsWithoutAnIdentity) {
  Cli cli;  // no tls_dir, no --insecure-dev: no call is made
  ASSERT_EQ(cli.Parse("devices"), "");
  EXPECT_EQ(cli.ctx.RunParsed(), 1);
}

TEST(CliContext, OfflineCommandRunsItsHandler) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("shoebox-cli-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Cli cli;
  ASSERT_EQ(cli.Parse("pool-key --private " + (dir / "pool.key").string() + " --public " +
                      (dir / "pool.pub").string()),
            "");
  EXPECT_EQ(cli.ctx.RunParsed(), 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "pool.key"));
  EXPECT_TRUE(std::filesystem::exists(dir / "pool.pub"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shoebox::cli
