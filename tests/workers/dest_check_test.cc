// `shoebox dest add|set|check` end to end (issue 16): the real CLI binary
// against an in-process coordinator (private PostgreSQL) and an in-process
// worker that runs the connection checks against real servers: Apache
// mod_dav with Basic auth (a wrong password is refused and nothing is
// added; --no-check adds it anyway; `dest set` with the right password
// from stdin fixes it) and s3rver (a missing bucket is refused). Also the
// usage errors (exit 2) and a check no worker picks up.
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "tests/support/cli_fixture.h"
#include "tests/support/servers.h"
#include "workers/chunk_source.h"
#include "workers/destination.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

namespace fs = std::filesystem;

using testsupport::CliRun;
using testsupport::ReadWholeFile;

class DestCheckTest : public testsupport::CliFixture {
 protected:
  bool Listed(const std::string& name) {
    CliRun r = Cli({"dest", "list", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return false;
    for (const auto& d : j)
      if (d["name"] == name) return true;
    return false;
  }
};

TEST_F(DestCheckTest, WebDavWrongPasswordIsRefusedNoCheckAddsItSetFixesIt) {
  auto dav = testsupport::StartApacheDav();
  ASSERT_TRUE(dav.ok()) << dav.status();
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  const std::vector<std::string> add = {"dest",
                                        "add",
                                        "dav",
                                        "--kind",
                                        "webdav",
                                        "--set",
                                        "url=" + (*dav)->url,
                                        "--secret",
                                        "user=" + (*dav)->user,
                                        "--secret",
                                        "password=-"};
  CliRun wrong = Cli(add, "not-the-password\n");
  EXPECT_EQ(wrong.code, 1) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("was not added"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("UNAUTHENTICATED"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("--no-check"), std::string::npos) << wrong.err;
  EXPECT_FALSE(Listed("dav"));

  std::vector<std::string> no_check = add;
  no_check.push_back("--no-check");
  CliRun added = Cli(no_check, "not-the-password\n");
  EXPECT_EQ(added.code, 0) << added.err;
  EXPECT_NE(added.out.find("without a connection check"), std::string::npos) << added.out;
  EXPECT_TRUE(Listed("dav"));

  CliRun check = Cli({"dest", "check", "dav"});
  EXPECT_EQ(check.code, 1) << check.out << check.err;
  EXPECT_NE(check.err.find("UNAUTHENTICATED"), std::string::npos) << check.err;

  // The password from standard input; every secret is given again.
  CliRun fixed =
      Cli({"dest", "set", "dav", "--secret", "user=" + (*dav)->user, "--secret", "password=-"},
          (*dav)->password + "\n");
  EXPECT_EQ(fixed.code, 0) << fixed.out << fixed.err;
  EXPECT_NE(fixed.out.find("connection checked"), std::string::npos) << fixed.out;
  EXPECT_NE(fixed.out.find("probe file"), std::string::npos) << fixed.out;
  // The probe file is gone again (mod_dav_fs may keep its .DAV property
  // folder).
  const fs::path probes = fs::path((*dav)->root_dir) / ".shoebox" / "check";
  ASSERT_TRUE(fs::exists(probes));
  for (const auto& e : fs::directory_iterator(probes)) {
    EXPECT_EQ(e.path().filename().string().rfind("probe-", 0), std::string::npos) << e.path();
    EXPECT_EQ(e.path().filename().string().find("shoebox-tmp"), std::string::npos) << e.path();
  }
  CliRun list = Cli({"dest", "list"});
  EXPECT_NE(list.out.find("checked ok"), std::string::npos) << list.out;

  CliRun removed = Cli({"dest", "remove", "dav"});
  EXPECT_EQ(removed.code, 0) << removed.err;
  EXPECT_FALSE(Listed("dav"));
}

TEST_F(DestCheckTest, S3MissingBucketIsRefused) {
  auto s3 = testsupport::StartS3rver();
  ASSERT_TRUE(s3.ok()) << s3.status();
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  std::ofstream(Path("ak")) << (*s3)->access_key << "\n";
  std::ofstream(Path("sk")) << (*s3)->secret_key << "\n";
  auto add = [&](const std::string& name, const std::string& bucket) {
    return Cli({"dest", "add", name, "--kind", "s3", "--set", "endpoint=" + (*s3)->endpoint,
                "--set", "bucket=" + bucket, "--secret-file", "access_key_id=" + Path("ak"),
                "--secret-file", "secret_access_key=" + Path("sk")});
  };
  CliRun missing = add("offsite", "no-such-bucket");
  EXPECT_EQ(missing.code, 1) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("no-such-bucket"), std::string::npos) << missing.err;
  EXPECT_FALSE(Listed("offsite"));
  CliRun ok = add("offsite", (*s3)->bucket);
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("connection checked"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.err.find("visible to other users"), std::string::npos) << ok.err;
}

TEST_F(DestCheckTest, UsageErrorsExitTwoAndTypedSettingsAreStored) {
  auto r = Cli({"dest", "add", "x", "--kind", "ftp", "--set", "root=/x"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("local, s3, webdav, sftp, rclone"), std::string::npos) << r.err;
  r = Cli({"dest", "add", "x", "--kind", "local", "--set", "rooot=/x"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("did you mean 'root'"), std::string::npos) << r.err;
  r = Cli({"dest", "add", "x", "--kind", "local", "--set", "root=relative"});
  EXPECT_EQ(r.code, 2) << r.err;
  r = Cli({"dest", "add", "x", "--kind", "s3", "--set", "endpoint=http://127.0.0.1:1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("bucket"), std::string::npos) << r.err;
  EXPECT_FALSE(Listed("x"));

  r = Cli({"dest", "add", "box", "--kind", "sftp", "--set", "host=127.0.0.1", "--set", "port=45222",
           "--set", "host_key=ssh-ed25519 AAAA", "--secret", "password=pw", "--no-check"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("visible to other users"), std::string::npos) << r.err;
  r = Cli({"dest", "list", "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["settings"]["port"], 45222);
  EXPECT_EQ(j[0]["check"], "never checked");
  r = Cli({"dest", "set", "box", "--set", "port=0", "--no-check"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("1..65535"), std::string::npos) << r.err;
  r = Cli({"dest", "kinds", "sftp"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("port"), std::string::npos);
  EXPECT_NE(r.out.find("default 22"), std::string::npos) << r.out;
}

TEST_F(DestCheckTest, CheckNobodyRunsIsReportedAndNothingAdded) {
  // No worker at all.
  CliRun r = Cli({"dest", "add", "nas", "--kind", "local", "--set", "root=" + Path("nas"),
                  "--check-timeout", "2"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("no worker picked up"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'local'"), std::string::npos) << r.err;
  EXPECT_FALSE(Listed("nas"));
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  r = Cli({"dest", "add", "nas", "--kind", "local", "--set", "root=" + Path("nas")});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(Listed("nas"));
}

}  // namespace
}  // namespace shoebox::worker
