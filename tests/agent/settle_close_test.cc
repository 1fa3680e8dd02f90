// Settle tracking against the real kernel's inotify events and a real
// coordinator: a file its writer closed is sent after the short close
// confirmation, well before the (here: one hour) settle time; a file written
// in two parts with a pause between, not closed in between, is never read
// half-written. The assertions are on what the tracker decided and what the
// coordinator recorded, not on elapsed time.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "agent/agent.h"
#include "agent/test_util.h"
#include "common/crypto/hash.h"
#include "gtest/gtest.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "tests/support/coordinator_harness.h"

namespace shoebox::agent {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteFile;
using testsupport::AsDevice;
using testsupport::CoordinatorHarness;

template <typename Pred>
bool WaitFor(Pred p, int seconds = 60) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return p();
}

class SettleCloseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = CoordinatorHarness::StartOnFreshDatabase("settle");
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    device_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();

    AgentConfig cfg;
    cfg.insecure_dev = true;
    cfg.coordinator_address = coordinator_->address();
    cfg.device_name = device_;
    cfg.state_dir = state_.path();
    cfg.settle_seconds = 3600;  // only the close rule can let a new file go
    cfg.close_confirm_ms = 300;
    cfg.rescan_interval_seconds = 3600;
    cfg.rpc_timeout_seconds = 20;
    FolderConfig f;
    f.path = tree_.path();
    cfg.folders.push_back(f);
    // A file from before the start: seen by the first scan only, it keeps
    // the full settle time. Its count tells when the scan (and the watches)
    // are in place.
    WriteFile(tree_.path() + "/seen-by-scan.jpg", RandomBytes(4000, 1));
    auto a = Agent::Create(cfg, Agent::Options{});
    ASSERT_TRUE(a.ok()) << a.status();
    agent_ = std::move(*a);
    runner_ = std::thread([this] { EXPECT_TRUE(agent_->Run().ok()); });
    ASSERT_TRUE(WaitFor([&] { return agent_->stats().files_scanned.load() >= 1; }));
  }

  void TearDown() override {
    if (agent_) agent_->Stop();
    if (runner_.joinable()) runner_.join();
  }

  // Every version the coordinator recorded for this device, by path.
  std::multimap<std::string, v1::FileVersion> Versions() {
    std::multimap<std::string, v1::FileVersion> out;
    auto stub = v1::AgentService::NewStub(testsupport::Channel(coordinator_->address()));
    grpc::ClientContext ctx;
    AsDevice(&ctx, device_);
    v1::ListVersionsRequest req;
    req.set_folder(tree_.path());
    req.set_all_versions(true);
    req.set_limit(1000);
    v1::ListVersionsResponse resp;
    if (!stub->ListVersions(&ctx, req, &resp).ok()) return out;
    for (const auto& v : resp.versions()) out.emplace(v.path(), v);
    return out;
  }
  bool Complete(const std::string& path) {
    auto v = Versions();
    auto it = v.find(path);
    return it != v.end() && it->second.state() == v1::VERSION_STATE_COMPLETE;
  }

  TempDir state_, tree_;
  std::unique_ptr<CoordinatorHarness> coordinator_;
  std::string device_;
  std::unique_ptr<Agent> agent_;
  std::thread runner_;
};

TEST_F(SettleCloseTest, FileWrittenAndClosedIsSentWithoutWaitingTheSettleTime) {
  std::string data = RandomBytes(700 * 1024, 2);
  WriteFile(tree_.path() + "/photo.jpg", data);  // open, write, close
  ASSERT_TRUE(WaitFor([&] { return Complete("photo.jpg"); }));
  EXPECT_EQ(agent_->stats().settled_on_close.load(), 1u);
  EXPECT_EQ(agent_->stats().settled_after_wait.load(), 0u);
  auto versions = Versions();
  ASSERT_EQ(versions.count("photo.jpg"), 1u);
  EXPECT_EQ(versions.find("photo.jpg")->second.sha256(), DigestToString(Sha256::Of(data)));
  // The file seen only by the scan still waits its settle time.
  EXPECT_EQ(versions.count("seen-by-scan.jpg"), 0u);
  EXPECT_EQ(agent_->stats().files_waiting.load(), 1u);
}

TEST_F(SettleCloseTest, FileWrittenInTwoPartsWithAPauseIsNotReadHalfWritten) {
  std::string path = tree_.path() + "/video.mp4";
  std::string first = RandomBytes(600 * 1024, 3), second = RandomBytes(900 * 1024, 4);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  // A pause several times the close confirmation, the file still open.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(agent_->stats().files_read.load(), 0u);
  EXPECT_EQ(agent_->stats().settled_on_close.load(), 0u);
  ASSERT_EQ(::write(fd, second.data(), second.size()), static_cast<ssize_t>(second.size()));
  ::close(fd);
  ASSERT_TRUE(WaitFor([&] { return Complete("video.mp4"); }));
  EXPECT_EQ(agent_->stats().settled_on_close.load(), 1u);
  EXPECT_EQ(agent_->stats().files_read.load(), 1u);
  // The only version ever recorded is the whole file.
  auto versions = Versions();
  ASSERT_EQ(versions.count("video.mp4"), 1u);
  EXPECT_EQ(versions.find("video.mp4")->second.size(), first.size() + second.size());
  EXPECT_EQ(versions.find("video.mp4")->second.sha256(),
            DigestToString(Sha256::Of(first + second)));
}

}  // namespace
}  // namespace shoebox::agent
