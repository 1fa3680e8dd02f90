#include "common/enroll_command.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

struct Call {
  std::string coordinator, token, tls_dir;
};

// An enroller that records its arguments and answers `result`.
IdentityEnroller Fake(std::vector<Call>* calls, absl::StatusOr<std::string> result) {
  return [calls, result](const std::string& coordinator, const std::string& token,
                         const std::string& tls_dir) {
    calls->push_back({coordinator, token, tls_dir});
    return result;
  };
}

EnrollCommand AgentCommand() {
  EnrollCommand cmd;
  cmd.program = "shoebox-agent";
  cmd.role = "device";
  cmd.token = "-";  // from standard input: the enroller reads it
  cmd.config = EnrollDefaults{"coord.example:7443", "/state/tls", std::string("laptop")};
  cmd.fallback_tls_dir = "/fallback/tls";
  return cmd;
}

TEST(EnrollCommand, ConfigNamesCoordinatorAndTlsDir) {
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(AgentCommand(), Fake(&calls, std::string("laptop")), out, err), 0);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].coordinator, "coord.example:7443");
  EXPECT_EQ(calls[0].token, "-");
  EXPECT_EQ(calls[0].tls_dir, "/state/tls");
  EXPECT_EQ(out.str(),
            "enrolled as device 'laptop' with coordinator coord.example:7443; identity stored in "
            "/state/tls\n");
  EXPECT_EQ(err.str(), "");
}

TEST(EnrollCommand, FlagsWinOverTheConfig) {
  EnrollCommand cmd = AgentCommand();
  cmd.coordinator = "10.0.0.1:7443";
  cmd.tls_dir = "/given/tls";
  auto t = ResolveEnrollTarget(cmd);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->coordinator, "10.0.0.1:7443");
  EXPECT_EQ(t->tls_dir, "/given/tls");
}

TEST(EnrollCommand, WithoutConfigTheFlagAndTheFallbackDirectory) {
  EnrollCommand cmd = AgentCommand();
  cmd.config = absl::NotFoundError("agent.toml: no such file");
  cmd.coordinator = "10.0.0.1:7443";
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("laptop")), out, err), 0);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].tls_dir, "/fallback/tls");
  // No config: nothing to compare the name with.
  EXPECT_EQ(out.str().find("note:"), std::string::npos);
}

TEST(EnrollCommand, NoCoordinatorAnywhereIsAUsageError) {
  EnrollCommand cmd = AgentCommand();
  cmd.program = "shoebox-worker";
  cmd.config = absl::NotFoundError("worker.toml: no such file");
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("w")), out, err), 2);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(
      err.str(),
      "shoebox-worker enroll: give --coordinator HOST:PORT (no usable config: worker.toml: no such "
      "file)\n");
  EXPECT_EQ(out.str(), "");
}

TEST(EnrollCommand, RefusalIsExitOneWithTheReason) {
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(
      RunEnrollment(
          AgentCommand(),
          Fake(&calls, absl::PermissionDeniedError("the coordinator at x refused: token used")),
          out, err),
      1);
  EXPECT_EQ(err.str(), "shoebox-agent enroll: the coordinator at x refused: token used\n");
  EXPECT_EQ(out.str(), "");
}

TEST(EnrollCommand, NoteWhenTheCoordinatorGivesAnotherName) {
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(AgentCommand(), Fake(&calls, std::string("phone")), out, err), 0);
  EXPECT_EQ(out.str(),
            "enrolled as device 'phone' with coordinator coord.example:7443; identity stored in "
            "/state/tls\n"
            "note: the config names this device 'laptop'; the coordinator knows it as 'phone' (the "
            "certificate decides)\n");
}

TEST(EnrollCommand, NoNoteWhenTheConfigNamesNoOne) {
  EnrollCommand cmd = AgentCommand();
  cmd.program = "shoebox-worker";
  cmd.role = "worker";
  cmd.config = EnrollDefaults{"c:1", "/etc/shoebox/worker/tls", std::nullopt};
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("w1")), out, err), 0);
  EXPECT_EQ(
      out.str(),
      "enrolled as worker 'w1' with coordinator c:1; identity stored in /etc/shoebox/worker/tls\n");
}

TEST(EnrollCommand, TokenIsNeverPrinted) {
  EnrollCommand cmd = AgentCommand();
  cmd.token = "SECRET-TOKEN-123";
  for (const absl::StatusOr<std::string>& result :
       {absl::StatusOr<std::string>(std::string("laptop")),
        absl::StatusOr<std::string>(absl::UnavailableError("down"))}) {
    std::vector<Call> calls;
    std::ostringstream out, err;
    RunEnrollment(cmd, Fake(&calls, result), out, err);
    EXPECT_EQ(out.str().find("SECRET"), std::string::npos);
    EXPECT_EQ(err.str().find("SECRET"), std::string::npos);
  }
}

// A file under the test's temp directory holding `text`.
std::string TokenFile(const std::string& name, const std::string& text) {
  const std::filesystem::path p = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(p) << text;
  return p.string();
}

TEST(EnrollCommand, TokenFromAFileTrimmed) {
  EnrollCommand cmd = AgentCommand();
  cmd.token.clear();
  cmd.token_file = TokenFile("token-ok", "\n  SBX1-abc-def  \n");
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("laptop")), out, err), 0);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].token, "SBX1-abc-def");
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(out.str().find("SBX1"), std::string::npos);
}

TEST(EnrollCommand, TokenFileProblemsAreUsageErrorsNamingTheFile) {
  for (const std::string& file :
       {TokenFile("token-empty", "\n \n"), std::string("/nonexistent/shoebox/token")}) {
    EnrollCommand cmd = AgentCommand();
    cmd.token.clear();
    cmd.token_file = file;
    std::vector<Call> calls;
    std::ostringstream out, err;
    EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("laptop")), out, err), 2) << file;
    EXPECT_TRUE(calls.empty());
    EXPECT_NE(err.str().find("--token-file " + file), std::string::npos) << err.str();
  }
}

TEST(EnrollCommand, TokenAndTokenFileOrNeitherIsAUsageError) {
  EnrollCommand both = AgentCommand();
  both.token = "SECRET-TOKEN";
  both.token_file = TokenFile("token-both", "SECRET-TOKEN\n");
  EnrollCommand neither = AgentCommand();
  neither.token.clear();
  for (const EnrollCommand& cmd : {both, neither}) {
    std::vector<Call> calls;
    std::ostringstream out, err;
    EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("laptop")), out, err), 2);
    EXPECT_TRUE(calls.empty());
    EXPECT_NE(err.str().find("--token-file"), std::string::npos) << err.str();
    EXPECT_EQ(err.str().find("SECRET"), std::string::npos);
  }
}

TEST(EnrollCommand, TokenOnTheCommandLineWorksWithANote) {
  EnrollCommand cmd = AgentCommand();
  cmd.token = "SECRET-TOKEN-123";
  std::vector<Call> calls;
  std::ostringstream out, err;
  EXPECT_EQ(RunEnrollment(cmd, Fake(&calls, std::string("laptop")), out, err), 0);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].token, "SECRET-TOKEN-123");
  EXPECT_NE(err.str().find("visible to other users in the process list"), std::string::npos);
  EXPECT_NE(err.str().find("--token -"), std::string::npos);
}

}  // namespace
}  // namespace shoebox
