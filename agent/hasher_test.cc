#include "agent/hasher.h"

#include <fcntl.h>
#include <unistd.h>

#include "agent/test_util.h"
#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::TestKeys;
using testing::WriteFile;

TEST(HasherTest, ChunksCoverTheFileAndIdsAreHmacsOfTheirBytes) {
  TempDir d;
  std::string data = RandomBytes(3 * 1024 * 1024 + 17, 1);
  WriteFile(d.path() + "/a.jpg", data);
  ChunkHasher h(TestKeys());
  std::atomic<uint64_t> read{0};
  auto r = HashFile(d.path(), "a.jpg", h, &read);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(read.load(), data.size());
  EXPECT_EQ(r->stat.size, data.size());
  EXPECT_EQ(r->sha256, Sha256::Of(data));
  ASSERT_GT(r->chunks.size(), 5u);
  // Same cut points as one Feed over the whole buffer.
  Chunker c(h.keys().params, h.gear());
  std::vector<uint64_t> cuts;
  c.Feed(AsBytes(data), &cuts);
  if (auto last = c.Finish()) cuts.push_back(*last);
  ASSERT_EQ(cuts.size(), r->chunks.size());
  uint64_t off = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    EXPECT_EQ(off + r->chunks[i].size, cuts[i]);
    EXPECT_EQ(r->chunks[i].id,
              h.Id(AsBytes(std::string_view(data).substr(off, r->chunks[i].size))));
    off += r->chunks[i].size;
  }
}

TEST(HasherTest, ZeroByteFileHasNoChunks) {
  TempDir d;
  WriteFile(d.path() + "/empty.jpg", "");
  auto r = HashFile(d.path(), "empty.jpg", ChunkHasher(TestKeys()), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->chunks.empty());
  EXPECT_EQ(r->sha256, Sha256::Of(std::string_view()));
}

TEST(HasherTest, SparseFileReadsAsZeros) {
  TempDir d;
  std::string p = d.path() + "/sparse.mov";
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "x", 1, 2 * 1024 * 1024), 1);
  ::close(fd);
  auto r = HashFile(d.path(), "sparse.mov", ChunkHasher(TestKeys()), nullptr);
  ASSERT_TRUE(r.ok());
  std::string expect(2 * 1024 * 1024 + 1, '\0');
  expect.back() = 'x';
  EXPECT_EQ(r->sha256, Sha256::Of(expect));
  uint64_t total = 0;
  for (auto& c : r->chunks) total += c.size;
  EXPECT_EQ(total, expect.size());
}

TEST(HasherTest, VanishedFileIsNotFoundAndSymlinkIsNotFollowed) {
  TempDir d;
  auto r = HashFile(d.path(), "gone.jpg", ChunkHasher(TestKeys()), nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  WriteFile(d.path() + "/real.jpg", "abc");
  ASSERT_EQ(::symlink((d.path() + "/real.jpg").c_str(), (d.path() + "/link.jpg").c_str()), 0);
  EXPECT_FALSE(HashFile(d.path(), "link.jpg", ChunkHasher(TestKeys()), nullptr).ok());
}

TEST(HasherTest, PathsLongerThanPathMaxAreRead) {
  TempDir d;
  std::string rel;
  while (rel.size() < 4050) rel += std::string(200, 'd') + "/";
  rel += "f.jpg";
  ASSERT_GT(d.path().size() + rel.size(), 4096u);
  // Create the directories with openat: the full path is too long for mkdir.
  int dfd = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY);
  size_t start = 0;
  while (true) {
    size_t slash = rel.find('/', start);
    std::string comp =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) {
      int f = ::openat(dfd, comp.c_str(), O_WRONLY | O_CREAT, 0644);
      ASSERT_GE(f, 0);
      ASSERT_EQ(::write(f, "hello", 5), 5);
      ::close(f);
      break;
    }
    ::mkdirat(dfd, comp.c_str(), 0755);
    int n = ::openat(dfd, comp.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(n, 0);
    ::close(dfd);
    dfd = n;
    start = slash + 1;
  }
  ::close(dfd);
  auto r = HashFile(d.path(), rel, ChunkHasher(TestKeys()), nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stat.size, 5u);
  EXPECT_EQ(r->sha256, Sha256::Of(std::string_view("hello")));
}

TEST(HasherTest, SessionKeysSerializeRoundTrip) {
  SessionKeys k = TestKeys();
  auto p = SessionKeys::Parse(k.Serialize());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(*p == k);
  EXPECT_EQ(SessionKeys::Parse("short").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace shoebox::agent
