// The OS helpers of `shoebox setup` (cli/setup_system.h). The whole command
// runs in tests/packaging/packaging_test.sh against the installed packages.
#include "cli/setup_system.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/config.h"
#include "gtest/gtest.h"

namespace shoebox::cli::setup {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class SetupSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/setup-system-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST(TomlStringTest, AnyPathSurvivesATomlRoundTrip) {
  for (const std::string& s :
       std::vector<std::string>{"/srv/backup", "quote \" and back\\slash", "tab\there",
                                "Été #1 (copy)", std::string("nul\x01ctl", 8)}) {
    auto cfg = Config::Parse("key = " + TomlString(s) + "\n", "test");
    ASSERT_TRUE(cfg.ok()) << cfg.status() << " for " << TomlString(s);
    EXPECT_EQ(*cfg->GetString("key", ""), s);
  }
}

TEST_F(SetupSystemTest, WriteFileOnceWritesOnceWithModeAndThenKeepsTheFile) {
  std::string path = dir_ + "/a.toml";
  auto first = WriteFileOnce(path, "one\n", 0640, getuid(), getgid());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  auto second = WriteFileOnce(path, "two\n", 0600, getuid(), getgid());
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(Slurp(path), "one\n");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(SetupSystemTest, EnsureDirCreatesParentsOnceAndRefusesAFile) {
  std::string path = dir_ + "/x/y";
  auto made = EnsureDir(path, 0700, getuid(), getgid());
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(*made);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_all);
  auto again = EnsureDir(path, 0700, getuid(), getgid());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  std::ofstream(dir_ + "/file") << "x";
  auto file = EnsureDir(dir_ + "/file", 0700, getuid(), getgid());
  EXPECT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("not a directory"), std::string::npos);
}

TEST(RunTest, GivesStdinAndSeparatesStdoutStderrAndExitCode) {
  auto r = setup::Run({"sh", "-c", "read t; echo \"got $t\"; echo oops >&2; exit 3"}, SystemUser{},
                      "token-123\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "got token-123\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(RunTest, AMissingProgramIsNotFoundNamingIt) {
  auto r = setup::Run({"shoebox-no-such-program"}, SystemUser{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("shoebox-no-such-program"), std::string::npos);
}

TEST(RunTest, RunsAsAnotherUserWhenRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto nobody = LookupUser("nobody");
  ASSERT_TRUE(nobody.ok());
  auto r = setup::Run({"id", "-u"}, *nobody);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, std::to_string(nobody->uid) + "\n");
  EXPECT_FALSE(LookupUser("shoebox-no-such-user").ok());
}

TEST_F(SetupSystemTest, BackgroundProgramLogsAndStops) {
  auto pid =
      StartBackground({"sh", "-c", "echo started; exec sleep 60"}, SystemUser{}, dir_ + "/bg.log");
  ASSERT_TRUE(pid.ok()) << pid.status();
  for (int i = 0; i < 100 && Slurp(dir_ + "/bg.log").empty(); i++) usleep(20000);
  EXPECT_EQ(Slurp(dir_ + "/bg.log"), "started\n");
  EXPECT_TRUE(StillRunning(*pid));
  Stop(*pid, std::chrono::seconds(5));
  EXPECT_FALSE(StillRunning(*pid));
}

}  // namespace
}  // namespace shoebox::cli::setup
