// Issue 16, the CLI side: every usage error is exit code 2 with one line
// naming the command (CLI11's own codes are 105, 106, ...), bad values are
// caught while parsing, and `key export --to DIR` writes the kit as files.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/seal.h"
#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Parses `args` as main() does; the exit code of a parse error, or -1 when
// the command line parsed. With `run_code`, a parsed command is also run
// (while the CLI::App its handlers point into is alive) and its exit code
// stored there.
Outcome Parse(const std::string& args, CliContext* ctx_out = nullptr, int* run_code = nullptr) {
  CliContext local{ClientOptions{}};
  CliContext& ctx = ctx_out != nullptr ? *ctx_out : local;
  CLI::App app{kCliDescription};
  RegisterCommands(app, ctx);
  Outcome r;
  std::ostringstream out, err;
  try {
    app.parse(args, /*program_name_included=*/false);
    if (run_code != nullptr) *run_code = ctx.RunParsed();
  } catch (const CLI::ParseError& e) {
    r.code = HandleParseError(app, e, out, err);
  }
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(UsageErrors, MissingSubcommandIsExitTwoNamingTheChoices) {
  Outcome r = Parse("key");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "shoebox key: a command is required; one of: export; see `shoebox key --help`\n");
  r = Parse("retention");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("shoebox retention: a command is required; one of: set, show"),
            std::string::npos)
      << r.err;
  r = Parse("dest");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("shoebox dest: a command is required; one of: ", 0), 0u) << r.err;
  r = Parse("");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("shoebox: a command is required; one of: status, devices, ", 0), 0u)
      << r.err;
}

TEST(UsageErrors, UnknownCommandOrOptionIsExitTwo) {
  Outcome r = Parse("no-such-command");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'no-such-command'"), std::string::npos) << r.err;
  r = Parse("jobs --no-such-flag");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("shoebox jobs: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("see `shoebox jobs --help`"), std::string::npos) << r.err;
  r = Parse("restore --device d");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--to"), std::string::npos) << r.err;
  r = Parse("jobs --all --limit 5");
  EXPECT_EQ(r.code, 2);
}

TEST(UsageErrors, BadValuesAreCaughtWhileParsing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"jobs --state running", "'running': not a job state; use pending, in-flight"},
      {"retry --state nope", "'nope': not a job state"},
      {"versions laptop --at yesterday", "'yesterday': not a time"},
      {"restore --device d --to /t --at 2026-13-45", "'2026-13-45': not a time"},
      {"enroll-token --device d --ttl 1w", "'1w': use a duration like 24h"},
      {"jobs --limit 0", "--limit"},
  };
  for (const auto& [args, want] : cases) {
    Outcome r = Parse(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_NE(r.err.find(want), std::string::npos) << args << ": " << r.err;
  }
}

TEST(UsageErrors, GoodValuesStillParse) {
  for (const char* args :
       {"jobs --state delivered --state in-flight --state failed", "jobs --all",
        "versions laptop /home/a/Pictures/x.jpg --at 2026-11-26",
        "restore --device d --path 2024/ "
        "--to /t",
        "enroll-token --device d --ttl 2d", "key export --to /tmp/kit --pool-key-file p"}) {
    EXPECT_EQ(Parse(args).code, -1) << args;
  }
}

TEST(UsageErrors, HelpIsExitZeroOnStdout) {
  Outcome r = Parse("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Subcommands:"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
  r = Parse("jobs --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--all"), std::string::npos) << r.out;
}

class KeyExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("shoebox-key-export-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    key_ = (dir_ / "master.key").string();
    { std::ofstream(key_) << std::string(64, 'a') << "\n"; }
    ::chmod(key_.c_str(), 0600);
    pool_ = (dir_ / "pool.key").string();
    ASSERT_TRUE(CreatePoolKeyPair(pool_, (dir_ / "pool.pub").string()).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int Export(const std::string& to) {
    CliContext ctx{ClientOptions{}};  // no identity: the coordinator is not asked
    int code = -1;
    Outcome r = Parse("key export --key-file " + key_ + " --pool-key-file " + pool_ + " --to " + to,
                      &ctx, &code);
    EXPECT_EQ(r.code, -1) << r.err;
    return code;
  }

  static std::string Read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  static unsigned Mode(const std::filesystem::path& p) {
    struct stat st;
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }

  std::filesystem::path dir_;
  std::string key_, pool_;
};

TEST_F(KeyExportTest, WritesMasterAndPoolKeyAndKitAsPrivateFiles) {
  const std::filesystem::path kit = dir_ / "kit";
  ASSERT_EQ(Export(kit.string()), 0);
  EXPECT_EQ(Read(kit / "master.key"), Read(key_));
  EXPECT_EQ(Read(kit / "pool.key"), Read(pool_));
  EXPECT_EQ(Mode(kit), 0700u);
  for (const char* f : {"master.key", "pool.key", "RECOVERY.txt"})
    EXPECT_EQ(Mode(kit / f), 0600u) << f;
  const std::string text = Read(kit / "RECOVERY.txt");
  EXPECT_NE(text.find("Master key:    in master.key beside this file"), std::string::npos) << text;
  EXPECT_NE(text.find("shoebox recover --key master.key --from"), std::string::npos) << text;
  EXPECT_EQ(text.find(std::string(64, 'a')), std::string::npos) << "the key is in RECOVERY.txt";
  EXPECT_EQ(text.find("echo"), std::string::npos) << text;
}

TEST_F(KeyExportTest, RefusesToOverwriteAndWritesNothing) {
  const std::filesystem::path kit = dir_ / "kit";
  std::filesystem::create_directories(kit);
  std::ofstream(kit / "RECOVERY.txt") << "an older kit\n";
  EXPECT_EQ(Export(kit.string()), 1);
  EXPECT_FALSE(std::filesystem::exists(kit / "master.key"));
  EXPECT_FALSE(std::filesystem::exists(kit / "pool.key"));
  EXPECT_EQ(Read(kit / "RECOVERY.txt"), "an older kit\n");
}

}  // namespace
}  // namespace shoebox::cli
