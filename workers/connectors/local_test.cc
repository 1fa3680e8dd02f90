#include "workers/connectors/local.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "workers/connectors/connector_conformance.h"

namespace shoebox::worker {
namespace {

// One temporary directory per test process, removed when the process exits.
// (The path and its removal live in one static object: a separate static
// "cleanup" object outlived the path string it removed, so every test
// process left its directory behind, up to 200 MB each.)
struct TempRoot {
  std::string path;
  TempRoot() {
    std::string t = "/tmp/shoebox-local-conformance-XXXXXX";
    if (mkdtemp(t.data()) == nullptr) std::abort();
    path = t;
  }
  ~TempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::string& Root() {
  static const TempRoot root;
  return root.path;
}

ConnectorConformanceParams LocalParams() {
  ConnectorConformanceParams p;
  p.name = "Local";
  p.make = [](const std::string& id) {
    return MakeLocalConnector({{"root", Root() + "/" + id}}, nlohmann::json::object());
  };
  p.no_credentials_reason = "a local directory has no credentials";
  p.local_root = [](const std::string& id) { return Root() + "/" + id; };
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    // Read the file straight from the file system, not through Get.
    std::string full = c->Describe().substr(6) + "/" + path;
    std::ifstream in(full, std::ios::binary);
    if (!in) return absl::NotFoundError(full);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(Local, ConnectorConformance, ::testing::Values(LocalParams()),
                         ConformanceName);

TEST(LocalConnector, MtimeIsPreservedAndNoTempFileRemains) {
  std::string root = Root() + "/mtime";
  auto c = MakeLocalConnector({{"root", root}}, nlohmann::json::object());
  ASSERT_TRUE(c.ok()) << c.status();
  PutRequest r;
  r.remote_path = "a/b/photo.jpg";
  r.size = 5;
  r.mtime_ns = 1600000000123456789ll;
  auto src = MakeStringSource("hello");
  ASSERT_TRUE((*c)->Put(r, src.get(), nullptr).ok());
  struct stat st;
  ASSERT_EQ(::stat((root + "/a/b/photo.jpg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(root + "/a/b")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1) << "only the final file may remain in the folder";
}

TEST(LocalConnector, InterruptedUploadRemovesItsTempFile) {
  std::string root = Root() + "/interrupt";
  auto c = MakeLocalConnector({{"root", root}}, nlohmann::json::object());
  ASSERT_TRUE(c.ok());
  PutRequest r;
  r.remote_path = "x.mov";
  r.size = 3u << 20;
  auto src = MakeFailingSource(r.size, 1, 1u << 20);
  ASSERT_FALSE((*c)->Put(r, src.get(), nullptr).ok());
  EXPECT_TRUE(std::filesystem::is_empty(root));
}

TEST(LocalConnector, LeftoversOfAKilledWriterGoWithTheNextPutOfThatName) {
  std::string root = Root() + "/leftover";
  std::filesystem::create_directories(root + "/d");
  // A killed writer's temp file (nobody holds it), a live writer's (held),
  // and another name's.
  const std::string dead = root + "/d/.x.jpg.shoebox-tmp-0011223344556677";
  const std::string live = root + "/d/.x.jpg.shoebox-tmp-8899aabbccddeeff";
  const std::string other = root + "/d/.y.jpg.shoebox-tmp-0011223344556677";
  for (const std::string& p : {dead, live, other}) std::ofstream(p) << "partial";
  int held = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  auto c = MakeLocalConnector({{"root", root}}, nlohmann::json::object());
  ASSERT_TRUE(c.ok());
  PutRequest r;
  r.remote_path = "d/x.jpg";
  r.size = 5;
  auto src = MakeStringSource("hello");
  ASSERT_TRUE((*c)->Put(r, src.get(), nullptr).ok());
  EXPECT_FALSE(std::filesystem::exists(dead)) << "the killed writer's leftover is removed";
  EXPECT_TRUE(std::filesystem::exists(live)) << "a writer still at work keeps its file";
  EXPECT_TRUE(std::filesystem::exists(other)) << "another name's leftover waits for its own Put";
  ::close(held);
}

TEST(LocalConnector, FolderRemovedBehindItsBackIsCreatedAgain) {
  std::string root = Root() + "/recreate";
  auto c = MakeLocalConnector({{"root", root}}, nlohmann::json::object());
  ASSERT_TRUE(c.ok());
  PutRequest r;
  r.remote_path = "2024/07/a.jpg";
  r.size = 1;
  auto src = MakeStringSource("a");
  ASSERT_TRUE((*c)->Put(r, src.get(), nullptr).ok());
  std::filesystem::remove_all(root + "/2024");
  r.remote_path = "2024/07/b.jpg";
  auto src2 = MakeStringSource("b");
  auto put = (*c)->Put(r, src2.get(), nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(std::filesystem::exists(root + "/2024/07/b.jpg"));
}

TEST(LocalConnector, RelativeOrMissingRootIsRefused) {
  EXPECT_EQ(MakeLocalConnector({{"root", "relative/dir"}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLocalConnector(nlohmann::json::object(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LocalConnector, PathEscapingTheRootIsRefused) {
  auto c = MakeLocalConnector({{"root", Root() + "/escape"}}, nlohmann::json::object());
  ASSERT_TRUE(c.ok());
  PutRequest r;
  r.remote_path = "../outside.jpg";
  r.size = 1;
  auto src = MakeStringSource("x");
  EXPECT_EQ((*c)->Put(r, src.get(), nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoebox::worker
