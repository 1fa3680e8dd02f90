#include "tests/support/cli_fixture.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "workers/destination.h"

namespace shoebox::testsupport {

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void CliFixture::SetUp() {
  ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
  ASSERT_NO_FATAL_FAILURE(StartHarness());
  auto dir = TempDir::Make("cli");
  ASSERT_TRUE(dir.ok()) << dir.status();
  dir_ = std::move(*dir);
  CliRun keys = Cli({"pool-key", "--private", Path("pool.key"), "--public", Path("pool.pub")});
  ASSERT_EQ(keys.code, 0) << keys.err;
  std::ofstream(Path("cli.toml")) << "coordinator = \"" << harness_->address()
                                  << "\"\ninsecure_dev = true\npool_public_key = \""
                                  << Path("pool.pub") << "\"\n";
}

CliRun CliFixture::Cli(const std::vector<std::string>& args, const std::string& stdin_text,
                       const std::string& tag) {
  std::ofstream(Path(tag + ".in")) << stdin_text;
  std::string cmd = absl::StrCat("SHOEBOX_CLI_CONFIG=", ShellQuote(Path("cli.toml")), " ",
                                 ShellQuote(SHOEBOX_CLI_BINARY));
  for (const std::string& a : args) absl::StrAppend(&cmd, " ", ShellQuote(a));
  absl::StrAppend(&cmd, " <", ShellQuote(Path(tag + ".in")), " >", ShellQuote(Path(tag + ".out")),
                  " 2>", ShellQuote(Path(tag + ".err")));
  CliRun r;
  const int st = std::system(cmd.c_str());
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = ReadWholeFile(Path(tag + ".out"));
  r.err = ReadWholeFile(Path(tag + ".err"));
  return r;
}

void CliFixture::StartWorker() {
  auto store = OpenDirChunkStore(harness_->dir() + "/chunks");
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  auto master = LoadOrCreateMasterKey(harness_->dir() + "/master.key", false);
  ASSERT_TRUE(master.ok()) << master.status();
  keys_ = DeriveKeys(*master);
  sealed_ = std::make_unique<SealedChunkStore>(store_.get(), keys_.data_key);
  fetcher_ = worker::MakeStoreFetcher(sealed_.get());
  worker::WorkerOptions o;
  o.name = "w1";
  o.insecure_dev = true;
  o.coordinator = harness_->address();
  o.concurrency = 1;
  o.lease_wait = absl::Seconds(1);
  o.rpc_deadline = absl::Seconds(20);
  o.pool_key_file = Path("pool.key");
  auto opener = worker::MakeSealBoxOpener(Path("pool.key"));
  ASSERT_TRUE(opener.ok()) << opener.status();
  auto w = worker::Worker::Create(o, channel(), fetcher_.get(), *opener);
  ASSERT_TRUE(w.ok()) << w.status();
  worker_ = std::move(*w);
  ASSERT_TRUE(worker_->Register().ok());
  thread_ = std::thread([this] { (void)worker_->Run(); });
}

void CliFixture::StopWorker() {
  if (!worker_) return;
  worker_->Stop();
  if (thread_.joinable()) thread_.join();
  worker_.reset();
}

}  // namespace shoebox::testsupport
