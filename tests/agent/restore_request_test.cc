// Restore requests carried out by the agent (issue 22, docs/agent.md
// "Restore requests"): a real coordinator (in-process harness) with a
// private PostgreSQL and a directory chunk store, the agent in-process.
// A file deleted on the device is listed by ListDeleted; RequestRestore
// while the agent is not running stays pending; the agent's next start
// writes it back at its original path with the same bytes (or beside a
// different file now there, never over it); a damaged chunk fails the
// request with a reason and leaves nothing behind.
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/agent.h"
#include "agent/restore_orders.h"
#include "agent/test_util.h"
#include "common/crypto/hash.h"
#include "gtest/gtest.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "tests/support/coordinator_harness.h"
#include "tests/support/pg_environment.h"

namespace shoebox::agent {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteFile;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::CoordinatorHarness;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

int64_t MtimeNs(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

std::string Today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

class RestoreRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testsupport::FreshDatabase("restore_req");
    ASSERT_TRUE(url.ok()) << url.status();
    auto o = testsupport::TestCoordinatorOptions(*url);
    o.chunk_store = store_.path() + "/chunks";
    o.key_file = store_.path() + "/master.key";
    auto c = CoordinatorHarness::Start(o);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    device_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    admin_ = v1::AdminService::NewStub(testsupport::Channel(coordinator_->address()));
  }

  AgentConfig Config() {
    AgentConfig c;
    c.insecure_dev = true;
    c.coordinator_address = coordinator_->address();
    c.device_name = device_;
    c.state_dir = state_.path();
    c.settle_seconds = 0;
    c.rescan_interval_seconds = 3600;
    c.rpc_timeout_seconds = 20;
    FolderConfig f;
    f.path = tree_.path();
    c.folders.push_back(f);
    return c;
  }

  StatusSnapshot RunOnce() {
    Agent::Options o;
    o.once = true;
    auto a = Agent::Create(Config(), o);
    EXPECT_TRUE(a.ok()) << a.status();
    if (!a.ok()) return {};
    EXPECT_TRUE((*a)->Run().ok());
    return (*a)->Snapshot();
  }

  v1::ListDeletedResponse Deleted() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    v1::ListDeletedRequest req;
    v1::ListDeletedResponse resp;
    grpc::Status s = admin_->ListDeleted(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  v1::RestoreRequestInfo Request(const std::string& path) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    v1::RequestRestoreRequest req;
    req.set_device(device_);
    req.set_path(path);
    req.set_requested_by("test");
    v1::RestoreRequestInfo resp;
    grpc::Status s = admin_->RequestRestore(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  v1::RestoreRequestInfo Get(int64_t id) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    v1::ListRestoreRequestsRequest req;
    req.add_ids(id);
    v1::ListRestoreRequestsResponse resp;
    grpc::Status s = admin_->ListRestoreRequests(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.requests_size() == 1 ? resp.requests(0) : v1::RestoreRequestInfo();
  }

  size_t VersionCount(const std::string& path) {
    auto stub = v1::AgentService::NewStub(testsupport::Channel(coordinator_->address()));
    grpc::ClientContext ctx;
    AsDevice(&ctx, device_);
    v1::ListVersionsRequest req;
    req.set_path(path);
    req.set_all_versions(true);
    v1::ListVersionsResponse resp;
    EXPECT_TRUE(stub->ListVersions(&ctx, req, &resp).ok());
    size_t n = 0;
    for (const auto& v : resp.versions()) n += v.path() == path;
    return n;
  }

  // A file backed up, then deleted on the device and reported deleted.
  // (Another file stays: an emptied folder looks unmounted to the agent,
  // which then reports no deletion.)
  std::string BackUpAndDelete(const std::string& rel, size_t size, uint64_t seed) {
    WriteFile(tree_.path() + "/keep.txt", "stays");
    std::string data = RandomBytes(size, seed);
    WriteFile(tree_.path() + "/" + rel, data);
    RunOnce();
    std::filesystem::remove(tree_.path() + "/" + rel);
    RunOnce();
    return data;
  }

  TempDir store_, tree_, state_;
  std::unique_ptr<CoordinatorHarness> coordinator_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::string device_;
};

TEST_F(RestoreRequestTest, DeletedFileWaitsForTheOfflineDeviceThenComesBackWithTheSameBytes) {
  const std::string data = BackUpAndDelete("2024/trip/IMG_1.jpg", 5 << 20, 1);
  const v1::ListDeletedResponse first = Deleted();
  ASSERT_EQ(first.files_size(), 1);
  const int64_t mtime_before = first.files(0).mtime_ns();
  std::filesystem::remove_all(tree_.path() + "/2024");  // the directory went too

  v1::ListDeletedResponse del = Deleted();
  ASSERT_EQ(del.files_size(), 1);
  EXPECT_EQ(del.files(0).device(), device_);
  EXPECT_EQ(del.files(0).path(), "2024/trip/IMG_1.jpg");
  EXPECT_EQ(del.files(0).folder(), tree_.path());
  EXPECT_EQ(del.files(0).size(), data.size());
  EXPECT_GE(del.files(0).days_left(), 89u);
  EXPECT_LE(del.files(0).days_left(), 90u);
  EXPECT_EQ(del.next_before_version_id(), 0);

  // No agent runs: the request waits.
  v1::RestoreRequestInfo req = Request("2024/trip/IMG_1.jpg");
  EXPECT_EQ(req.state(), "pending");
  EXPECT_EQ(req.version_id(), del.files(0).version_id());
  // Asking again gives the same open request, not a second one.
  EXPECT_EQ(Request("2024/trip/IMG_1.jpg").id(), req.id());
  EXPECT_EQ(Deleted().files(0).restore().state(), "pending");

  // The agent starts: restored at the original path, same bytes and mtime.
  RunOnce();
  const std::string path = tree_.path() + "/2024/trip/IMG_1.jpg";
  ASSERT_TRUE(Exists(path));
  EXPECT_EQ(Slurp(path), data);
  EXPECT_EQ(MtimeNs(path), mtime_before);
  v1::RestoreRequestInfo done = Get(req.id());
  EXPECT_EQ(done.state(), "done") << done.reason();
  EXPECT_EQ(done.restored_path(), "2024/trip/IMG_1.jpg");
  EXPECT_EQ(Slurp(tree_.path() + "/keep.txt"), "stays");
  // Present again: no longer recently deleted, and the same version (no new
  // one, nothing uploaded, nothing read again by the next scan).
  EXPECT_EQ(Deleted().files_size(), 0);
  EXPECT_EQ(VersionCount("2024/trip/IMG_1.jpg"), 1u);
  StatusSnapshot again = RunOnce();
  EXPECT_EQ(again.chunks_uploaded, 0u);
  EXPECT_EQ(again.bytes_read, 0u);
  EXPECT_EQ(VersionCount("2024/trip/IMG_1.jpg"), 1u);

  // Another device cannot report on this device's request.
  auto agent = v1::AgentService::NewStub(testsupport::Channel(coordinator_->address()));
  grpc::ClientContext ctx;
  AsDevice(&ctx, "someone-else");
  v1::ReportRestoreRequest rr;
  rr.set_request_id(req.id());
  rr.set_ok(false);
  rr.set_reason("spoofed");
  v1::ReportRestoreResponse rresp;
  grpc::Status s = agent->ReportRestore(&ctx, rr, &rresp);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Get(req.id()).state(), "done");
}

TEST_F(RestoreRequestTest, DifferentFileAtThePathIsKeptAndTheRestoreGoesBesideIt) {
  const std::string data = BackUpAndDelete("IMG_2.jpg", 300000, 2);
  v1::RestoreRequestInfo req = Request("IMG_2.jpg");
  ASSERT_EQ(req.state(), "pending");
  // Meanwhile a different photo took the name.
  WriteFile(tree_.path() + "/IMG_2.jpg", "a new photo with the same name");
  RunOnce();
  EXPECT_EQ(Slurp(tree_.path() + "/IMG_2.jpg"), "a new photo with the same name");
  const std::string beside = "IMG_2 (restored " + Today() + ").jpg";
  ASSERT_TRUE(Exists(tree_.path() + "/" + beside));
  EXPECT_EQ(Slurp(tree_.path() + "/" + beside), data);
  v1::RestoreRequestInfo done = Get(req.id());
  EXPECT_EQ(done.state(), "done") << done.reason();
  EXPECT_EQ(done.restored_path(), beside);
  // Nothing is left behind but the three files.
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(tree_.path())) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 3u);
}

TEST_F(RestoreRequestTest, DamagedChunkFailsWithAReasonAndWritesNothing) {
  BackUpAndDelete("IMG_3.jpg", 2 << 20, 3);
  // Flip a byte in every stored blob.
  for (auto& e : std::filesystem::recursive_directory_iterator(store_.path() + "/chunks")) {
    if (!e.is_regular_file()) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(40);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(40);
    f.write(&c, 1);
  }
  v1::RestoreRequestInfo req = Request("IMG_3.jpg");
  RunOnce();
  v1::RestoreRequestInfo failed = Get(req.id());
  EXPECT_EQ(failed.state(), "failed");
  EXPECT_NE(failed.reason().find("IMG_3.jpg"), std::string::npos) << failed.reason();
  EXPECT_FALSE(Exists(tree_.path() + "/IMG_3.jpg"));
  for (auto& e : std::filesystem::directory_iterator(tree_.path())) {
    if (e.path().filename() != "keep.txt") ADD_FAILURE() << "left behind: " << e.path();
  }
  // Still in the list, with the failure shown.
  v1::ListDeletedResponse del = Deleted();
  ASSERT_EQ(del.files_size(), 1);
  EXPECT_EQ(del.files(0).restore().state(), "failed");
}

TEST(BesideNameTest, KeepsTheExtensionAndNumbersFurtherCopies) {
  EXPECT_EQ(BesideName("a/IMG_1.jpg", "2026-12-08", 1), "a/IMG_1 (restored 2026-12-08).jpg");
  EXPECT_EQ(BesideName("IMG_1.jpg", "2026-12-08", 2), "IMG_1 (restored 2026-12-08 2).jpg");
  EXPECT_EQ(BesideName("notes", "2026-12-08", 1), "notes (restored 2026-12-08)");
  EXPECT_EQ(BesideName(".hidden", "2026-12-08", 1), ".hidden (restored 2026-12-08)");
  EXPECT_EQ(BesideName("x.tar.gz", "2026-12-08", 1), "x.tar (restored 2026-12-08).gz");
}

}  // namespace
}  // namespace shoebox::agent
