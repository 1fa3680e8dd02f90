#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/chunkstore/chunkstore.h"
#include "gtest/gtest.h"
#include "tests/support/chunkstore_conformance.h"

namespace shoebox {
namespace {

namespace fs = std::filesystem;
using testing::IdHex;
using testing::TestBlob;
using testing::TestId;

std::string MakeTempDir() {
  std::string tmpl = "/tmp/shoebox_dirstore_XXXXXX";
  char* d = ::mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr) << std::strerror(errno);
  return tmpl;
}

// A 2 MiB tmpfs, mounted for the full-disk test (needs root / CAP_SYS_ADMIN).
class TmpfsMount {
 public:
  TmpfsMount() : dir_(MakeTempDir()) {
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=2m") != 0) {
      error_ = std::string("cannot mount a 2 MiB tmpfs at ") + dir_ + ": " + std::strerror(errno) +
               " (the full-disk test needs root or CAP_SYS_ADMIN)";
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

class DirBackend final : public testing::ChunkStoreTestBackend {
 public:
  DirBackend() : root_(MakeTempDir() + "/store") {}
  ~DirBackend() override {
    full_.reset();
    std::error_code ec;
    fs::remove_all(fs::path(root_).parent_path(), ec);
  }
  absl::StatusOr<std::unique_ptr<ChunkStore>> Open() override { return OpenDirChunkStore(root_); }
  absl::Status Overwrite(const ChunkId& id, std::string_view bytes) override {
    const std::string hex = IdHex(id);
    std::ofstream out(root_ + "/" + hex.substr(0, 2) + "/" + hex.substr(2),
                      std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return out ? absl::OkStatus() : absl::InternalError("overwrite failed");
  }
  absl::StatusOr<std::unique_ptr<ChunkStore>> OpenFull() override {
    full_ = std::make_unique<TmpfsMount>();
    if (!full_->mounted()) return absl::UnimplementedError(full_->error());
    return OpenDirChunkStore(full_->dir() + "/store");
  }

 private:
  const std::string root_;
  std::unique_ptr<TmpfsMount> full_;
};

INSTANTIATE_TEST_SUITE_P(Dir, ChunkStoreConformanceTest,
                         ::testing::Values(testing::BackendFactory(
                             "dir", [] { return std::make_unique<DirBackend>(); })),
                         testing::BackendName);

class DirStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { base_ = MakeTempDir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  std::string base_;
};

TEST_F(DirStoreTest, ObjectsLiveAtTwoHexShardAndSixtyTwoHexName) {
  auto store = OpenDirChunkStore(base_ + "/s");
  ASSERT_TRUE(store.ok()) << store.status();
  const ChunkId id = TestId(1);
  ASSERT_TRUE((*store)->Put(id, "blob").ok());
  const std::string hex = IdHex(id);
  const fs::path p = fs::path(base_) / "s" / hex.substr(0, 2) / hex.substr(2);
  ASSERT_TRUE(fs::exists(p)) << p;
  EXPECT_EQ(fs::file_size(p), 4u);
  EXPECT_EQ((*store)->Describe(), "dir:" + base_ + "/s");
}

TEST_F(DirStoreTest, OpenRemovesStaleTempFilesButKeepsFreshOnes) {
  const std::string root = base_ + "/s";
  {
    auto store = OpenDirChunkStore(root);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put(TestId(1), "blob").ok());
  }
  const std::string shard = root + "/" + IdHex(TestId(1)).substr(0, 2);
  const std::string stale = shard + "/.tmp.0123456789abcdef";
  const std::string fresh = shard + "/.tmp.fedcba9876543210";
  std::ofstream(stale) << "half-written";
  std::ofstream(fresh) << "being written by another process";
  struct timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), times, 0), 0);

  auto store = OpenDirChunkStore(root);
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
  auto got = (*store)->Get(TestId(1));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "blob");
  int listed = 0;
  ASSERT_TRUE((*store)
                  ->List([&](const ChunkId&) {
                    ++listed;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(listed, 1) << "temp files must never be listed";

  auto strict = OpenDirChunkStore(root, DirChunkStoreOptions{.stale_temp_seconds = 0});
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(fs::exists(fresh));
}

TEST_F(DirStoreTest, FullDiskLeavesNoTempFileBehind) {
  TmpfsMount mnt;
  if (!mnt.mounted()) GTEST_SKIP() << mnt.error();
  auto store = OpenDirChunkStore(mnt.dir() + "/s");
  ASSERT_TRUE(store.ok());
  absl::Status st;
  for (int i = 0; i < 100 && st.ok(); ++i) st = (*store)->Put(TestId(i), TestBlob(i, 300 * 1024));
  ASSERT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_NE(st.message().find("free space"), absl::string_view::npos) << st;
  for (const auto& entry : fs::recursive_directory_iterator(mnt.dir())) {
    EXPECT_EQ(entry.path().filename().string().rfind(".tmp.", 0), std::string::npos)
        << "temp file left behind: " << entry.path();
  }
}

TEST_F(DirStoreTest, RelativeRootIsRejected) {
  auto store = OpenDirChunkStore("relative/dir");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DirStoreTest, RootThatIsAFileIsRefused) {
  std::ofstream(base_ + "/file") << "x";
  auto store = OpenDirChunkStore(base_ + "/file");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

TEST_F(DirStoreTest, OpenChunkStoreUnderstandsPathsFileUrlsAndRegisteredSchemes) {
  auto a = OpenChunkStore(base_ + "/a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->Describe(), "dir:" + base_ + "/a");
  auto b = OpenChunkStore("file://" + base_ + "/b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->Describe(), "dir:" + base_ + "/b");
  EXPECT_EQ(OpenChunkStore("file://relative").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenChunkStore("nonsense").status().code(), absl::StatusCode::kInvalidArgument);
  auto unknown = OpenChunkStore("gopher://host/x");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(unknown.status().message().find("gopher"), absl::string_view::npos);

  std::string seen;
  RegisterChunkStoreScheme("memtest", [&](const std::string& loc) {
    seen = loc;
    return OpenDirChunkStore(base_ + "/m");
  });
  auto m = OpenChunkStore("memtest://bucket/prefix");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(seen, "memtest://bucket/prefix");
}

}  // namespace
}  // namespace shoebox
