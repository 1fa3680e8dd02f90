// Two agents with the same photos against a real coordinator (in-process
// harness, private PostgreSQL, directory chunk store): the second uploads no
// chunk, proves it holds each one (proof of ownership, docs/security.md)
// and its files complete. A chunk damaged on the server fails its proof and
// is uploaded instead, which repairs the store.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "agent/agent.h"
#include "agent/progress.h"
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

class DedupProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = CoordinatorHarness::StartOnFreshDatabase("dedup");
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
  }

  // The same photos in a tree of each device: sizes from 0.5 to 5 MiB, so
  // most have several chunks. Returns the total size.
  uint64_t WritePhotos(const std::string& root) {
    uint64_t total = 0;
    for (int i = 0; i < 12; ++i) {
      const size_t size = (512 << 10) + static_cast<size_t>(i) * (400 << 10);
      WriteFile(root + "/2024/IMG_" + std::to_string(i) + ".jpg", RandomBytes(size, 100 + i));
      total += size;
    }
    return total;
  }

  AgentConfig Config(const std::string& device, const TempDir& tree, const TempDir& state) {
    AgentConfig c;
    c.insecure_dev = true;
    c.coordinator_address = coordinator_->address();
    c.device_name = device;
    c.state_dir = state.path();
    c.settle_seconds = 0;
    c.rescan_interval_seconds = 3600;
    c.rpc_timeout_seconds = 20;
    FolderConfig f;
    f.path = tree.path();
    c.folders.push_back(f);
    return c;
  }

  StatusSnapshot RunOnce(const AgentConfig& cfg) {
    Agent::Options o;
    o.once = true;
    auto a = Agent::Create(cfg, o);
    EXPECT_TRUE(a.ok()) << a.status();
    if (!a.ok()) return {};
    EXPECT_TRUE((*a)->Run().ok());
    return (*a)->Snapshot();
  }

  // The device's current complete versions.
  std::vector<v1::FileVersion> Complete(const std::string& device) {
    auto stub = v1::AgentService::NewStub(testsupport::Channel(coordinator_->address()));
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    v1::ListVersionsRequest req;
    req.set_limit(1000);
    v1::ListVersionsResponse resp;
    EXPECT_TRUE(stub->ListVersions(&ctx, req, &resp).ok());
    std::vector<v1::FileVersion> out;
    for (const auto& v : resp.versions())
      if (v.state() == v1::VERSION_STATE_COMPLETE && v.deleted_unix_ms() == 0) out.push_back(v);
    return out;
  }

  // Restores the version through ReadChunks as `device`.
  std::string Restore(const std::string& device, const v1::FileVersion& v) {
    auto stub = v1::AgentService::NewStub(testsupport::Channel(coordinator_->address()));
    grpc::ClientContext ctx;
    AsDevice(&ctx, device);
    v1::ReadChunksRequest req;
    for (const auto& c : v.chunks()) req.add_ids(c.id());
    auto reader = stub->ReadChunks(&ctx, req);
    std::string out;
    v1::ChunkData d;
    while (reader->Read(&d)) out += d.data();
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  std::vector<std::string> Blobs() {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e :
         std::filesystem::recursive_directory_iterator(coordinator_->options().chunk_store, ec)) {
      if (e.is_regular_file() && e.path().filename().string().size() == 62)
        out.push_back(e.path().string());
    }
    return out;
  }

  std::unique_ptr<CoordinatorHarness> coordinator_;
};

TEST_F(DedupProofTest, SecondDeviceWithTheSamePhotosUploadsNothingAndProvesEachChunk) {
  TempDir tree_a, state_a, tree_b, state_b;
  const uint64_t total = WritePhotos(tree_a.path());
  ASSERT_EQ(WritePhotos(tree_b.path()), total);

  auto t0 = std::chrono::steady_clock::now();
  StatusSnapshot a = RunOnce(Config("anna-laptop", tree_a, state_a));
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(a.files_done, 12u);
  EXPECT_EQ(a.chunk_bytes_uploaded, total);
  const size_t blobs = Blobs().size();
  ASSERT_EQ(blobs, a.chunks_uploaded);

  StatusSnapshot b = RunOnce(Config("anna-desktop", tree_b, state_b));
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(b.files_done, 12u);
  EXPECT_EQ(b.chunks_uploaded, 0u);
  EXPECT_EQ(b.chunk_bytes_uploaded, 0u);
  // Every chunk was read once to hash the file and once more to answer its
  // challenge.
  EXPECT_EQ(b.bytes_read, 2 * total);
  EXPECT_EQ(Blobs().size(), blobs);
  std::printf(
      "figures: %zu chunks, %llu bytes; first device uploaded %llu bytes, second %llu "
      "bytes and answered %zu proofs reading %llu bytes; run --once took %lld ms, then %lld ms\n",
      blobs, static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(a.chunk_bytes_uploaded),
      static_cast<unsigned long long>(b.chunk_bytes_uploaded), blobs,
      static_cast<unsigned long long>(b.bytes_read - total),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(t2 - t1).count()));

  std::vector<v1::FileVersion> mine = Complete("anna-desktop");
  ASSERT_EQ(mine.size(), 12u);
  for (const auto& v : mine) {
    std::ifstream in(tree_b.path() + "/" + v.path(), std::ios::binary);
    std::string want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(Restore("anna-desktop", v), want) << v.path();
  }
}

TEST_F(DedupProofTest, AChunkDamagedOnTheServerFailsItsProofAndIsUploadedAgain) {
  TempDir tree_a, state_a, tree_b, state_b;
  const uint64_t total = WritePhotos(tree_a.path());
  WritePhotos(tree_b.path());
  StatusSnapshot a = RunOnce(Config("anna-laptop", tree_a, state_a));
  ASSERT_EQ(a.chunk_bytes_uploaded, total);
  // One blob is damaged in the chunk store (a flipped byte).
  std::vector<std::string> blobs = Blobs();
  ASSERT_FALSE(blobs.empty());
  {
    std::fstream f(blobs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(40);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x20);
    f.seekp(40);
    f.write(&c, 1);
  }
  StatusSnapshot b = RunOnce(Config("anna-desktop", tree_b, state_b));
  EXPECT_EQ(b.files_done, 12u);
  EXPECT_EQ(b.chunks_uploaded, 1u);  // the damaged one, from the second device's copy
  std::vector<v1::FileVersion> mine = Complete("anna-desktop");
  ASSERT_EQ(mine.size(), 12u);
  for (const auto& v : mine) {
    std::ifstream in(tree_b.path() + "/" + v.path(), std::ios::binary);
    std::string want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(Restore("anna-desktop", v), want) << v.path();
  }
}

}  // namespace
}  // namespace shoebox::agent
