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
#include "tests/support/coordinator_fixture.h"
#include "tests/support/servers.h"
#include "workers/chunk_source.h"
#include "workers/destination.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string ReadAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class DestCheckTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    ASSERT_NO_FATAL_FAILURE(StartHarness());
    auto dir = testsupport::TempDir::Make("dest-check");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    ASSERT_EQ(Cli({"pool-key", "--private", Path("pool.key"), "--public", Path("pool.pub")}).code,
              0);
    std::ofstream(Path("cli.toml"))
        << "coordinator = \"" << harness_->address()
        << "\"\ninsecure_dev = true\npool_public_key = \"" << Path("pool.pub") << "\"\n";
    auto store = OpenDirChunkStore(harness_->dir() + "/chunks");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto master = LoadOrCreateMasterKey(harness_->dir() + "/master.key", false);
    ASSERT_TRUE(master.ok());
    keys_ = DeriveKeys(*master);
    sealed_ = std::make_unique<SealedChunkStore>(store_.get(), keys_.data_key);
    fetcher_ = MakeStoreFetcher(sealed_.get());
  }

  void TearDown() override { StopWorker(); }

  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }

  void StartWorker() {
    WorkerOptions o;
    o.name = "w1";
    o.insecure_dev = true;
    o.coordinator = harness_->address();
    o.concurrency = 1;
    o.lease_wait = absl::Seconds(1);
    o.rpc_deadline = absl::Seconds(20);
    auto opener = MakeSealBoxOpener(Path("pool.key"));
    ASSERT_TRUE(opener.ok()) << opener.status();
    auto w = Worker::Create(o, channel(), fetcher_.get(), *opener);
    ASSERT_TRUE(w.ok()) << w.status();
    worker_ = std::move(*w);
    ASSERT_TRUE(worker_->Register().ok());
    thread_ = std::thread([this] { (void)worker_->Run(); });
  }

  void StopWorker() {
    if (!worker_) return;
    worker_->Stop();
    if (thread_.joinable()) thread_.join();
    worker_.reset();
  }

  // Runs the real CLI with cli.toml; `stdin_text` is piped to it.
  CliRun Cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::ofstream(Path("stdin")) << stdin_text;
    std::string cmd = absl::StrCat("SHOEBOX_CLI_CONFIG=", Quote(Path("cli.toml")), " ",
                                   Quote(SHOEBOX_CLI_BINARY));
    for (const std::string& a : args) absl::StrAppend(&cmd, " ", Quote(a));
    absl::StrAppend(&cmd, " <", Quote(Path("stdin")), " >", Quote(Path("out")), " 2>",
                    Quote(Path("err")));
    CliRun r;
    const int st = std::system(cmd.c_str());
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadAll(Path("out"));
    r.err = ReadAll(Path("err"));
    return r;
  }

  bool Listed(const std::string& name) {
    CliRun r = Cli({"dest", "list", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return false;
    for (const auto& d : j)
      if (d["name"] == name) return true;
    return false;
  }

  std::unique_ptr<testsupport::TempDir> dir_;
  std::unique_ptr<ChunkStore> store_;
  DerivedKeys keys_;
  std::unique_ptr<SealedChunkStore> sealed_;
  std::unique_ptr<ChunkFetcher> fetcher_;
  std::unique_ptr<Worker> worker_;
  std::thread thread_;
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
