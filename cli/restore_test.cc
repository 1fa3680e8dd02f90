#include "cli/restore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"
#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

namespace fs = std::filesystem;

// Chunks held in memory; can be told to fail after N chunks.
class MapFetcher : public ChunkFetcher {
 public:
  std::map<std::string, std::string> chunks;
  int fail_after = -1;
  int served = 0;
  absl::Status Fetch(
      const std::vector<std::string>& ids,
      const std::function<absl::Status(const std::string&, const std::string&)>& sink) override {
    for (const auto& id : ids) {
      if (fail_after >= 0 && served >= fail_after)
        return absl::UnavailableError("connection lost (test)");
      auto it = chunks.find(id);
      if (it == chunks.end()) return absl::NotFoundError("chunk missing (test)");
      served++;
      absl::Status s = sink(id, it->second);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("shoebox-restore-test-", getpid(), "-", counter_++);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A version of `content` at `path`, split into chunks of `chunk` bytes.
  v1::FileVersion Make(const std::string& path, const std::string& content, size_t chunk = 7) {
    v1::FileVersion v;
    v.set_device("dev");
    v.set_folder("/photos");
    v.set_path(path);
    v.set_size(content.size());
    v.set_mtime_ns(1700000000123456789LL);
    v.set_mode(0640);
    v.set_sha256(DigestToString(Sha256::Of(content)));
    for (size_t i = 0; i < content.size(); i += chunk) {
      std::string part = content.substr(i, chunk);
      std::string id = DigestToString(Sha256::Of(absl::StrCat("id:", part, ":", i)));
      fetcher_.chunks[id] = part;
      auto* c = v.add_chunks();
      c->set_id(id);
      c->set_size(part.size());
    }
    return v;
  }
  std::string Read(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  }
  RestoreOptions Opts() {
    RestoreOptions o;
    o.target_dir = dir_.string();
    o.progress = false;
    return o;
  }
  static inline int counter_ = 0;
  fs::path dir_;
  MapFetcher fetcher_;
};

TEST_F(RestoreTest, restores_bytes_mtime_and_mode) {
  auto v = Make("a/b/photo.jpg", "hello restore world, more than one chunk");
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_restored, 1u);
  EXPECT_TRUE(r->failures.empty());
  fs::path p = dir_ / "a/b/photo.jpg";
  EXPECT_EQ(Read(p), "hello restore world, more than one chunk");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(RestoreTest, setuid_setgid_and_sticky_bits_are_never_restored) {
  // A compromised device reports its file as setuid root; an admin's restore
  // (often as root) must not make a setuid executable out of it.
  auto v = Make("bin/tool", "#!/bin/sh\necho hi\n");
  v.set_mode(07755);
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->files_restored, 1u);
  struct stat st;
  ASSERT_EQ(stat((dir_ / "bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(RestoreTest, pre_created_temp_file_name_is_neither_reused_nor_truncated) {
  // A local user who can write into the target directory hard-links a file
  // of the restoring user's (same file system) under the temp name the
  // restore used to pick (".NAME.shoebox-restore-PID"): opening it with
  // O_TRUNC would overwrite that file's contents.
  fs::path victim = dir_.string() + "-victim";
  { std::ofstream(victim) << "precious"; }
  fs::create_directories(dir_ / "a");
  const std::string predictable = absl::StrCat(".photo.jpg.shoebox-restore-", getpid());
  ASSERT_EQ(link(victim.c_str(), (dir_ / "a" / predictable).c_str()), 0);
  auto v = Make("a/photo.jpg", "restored bytes");
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_restored, 1u);
  EXPECT_EQ(Read(victim), "precious");
  EXPECT_EQ(Read(dir_ / "a/photo.jpg"), "restored bytes");
  // No temp file of ours is left behind beside the attacker's.
  int others = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "a")) {
    const std::string n = e.path().filename().string();
    if (n != "photo.jpg" && n != predictable) ++others;
  }
  EXPECT_EQ(others, 0);
  fs::remove(victim);
}

TEST_F(RestoreTest, empty_file_and_non_utf8_name_round_trip) {
  std::string name = "caf\xe9 \xff.jpg";  // Latin-1, not UTF-8
  auto v1f = Make(name, "");
  auto r = RestoreVersions({v1f}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_restored, 1u);
  EXPECT_TRUE(fs::exists(dir_ / name));
  EXPECT_EQ(fs::file_size(dir_ / name), 0u);
}

TEST_F(RestoreTest, second_run_skips_identical_files) {
  auto v = Make("x.jpg", "same bytes");
  ASSERT_TRUE(RestoreVersions({v}, &fetcher_, Opts()).ok());
  fetcher_.served = 0;
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_skipped, 1u);
  EXPECT_EQ(r->files_restored, 0u);
  EXPECT_EQ(fetcher_.served, 0);
}

TEST_F(RestoreTest, existing_different_file_needs_overwrite) {
  std::ofstream(dir_ / "x.jpg") << "local edit";
  auto v = Make("x.jpg", "catalog bytes");
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_NE(r->failures[0].error.find("--overwrite"), std::string::npos);
  EXPECT_EQ(Read(dir_ / "x.jpg"), "local edit");
  auto o = Opts();
  o.overwrite = true;
  r = RestoreVersions({v}, &fetcher_, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_restored, 1u);
  EXPECT_EQ(Read(dir_ / "x.jpg"), "catalog bytes");
}

TEST_F(RestoreTest, conflict_advice_says_overwrite_not_run_again) {
  std::ofstream(dir_ / "x.jpg") << "local edit";
  auto r = RestoreVersions({Make("x.jpg", "catalog bytes")}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_TRUE(r->failures[0].conflict);
  const std::string advice = RestoreAdvice(*r);
  EXPECT_NE(advice.find("add --overwrite"), std::string::npos) << advice;
  EXPECT_EQ(advice.find("same command again"), std::string::npos) << advice;
  EXPECT_EQ(RestoreAdvice(RestoreReport{}), "");
}

TEST_F(RestoreTest, failed_read_advice_says_run_again) {
  fetcher_.fail_after = 0;
  auto r = RestoreVersions({Make("a.jpg", std::string(100, 'a'))}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_FALSE(r->failures[0].conflict);
  const std::string advice = RestoreAdvice(*r);
  EXPECT_NE(advice.find("run the same command again"), std::string::npos) << advice;
  EXPECT_EQ(advice.find("--overwrite"), std::string::npos) << advice;
}

TEST_F(RestoreTest, interrupted_restore_leaves_no_partial_file_and_rerun_finishes) {
  auto a = Make("a.jpg", std::string(100, 'a'));
  auto b = Make("b.jpg", std::string(100, 'b'));
  fetcher_.fail_after = 20;  // a has 15 chunks; b fails midway
  auto r = RestoreVersions({a, b}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_restored, 1u);
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / "b.jpg"));
  for (auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".shoebox-restore"), std::string::npos)
        << "temp file left: " << e.path();
  fetcher_.fail_after = -1;
  r = RestoreVersions({a, b}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_skipped, 1u);
  EXPECT_EQ(r->files_restored, 1u);
  EXPECT_EQ(Read(dir_ / "b.jpg"), std::string(100, 'b'));
}

// Small files go in batches (one stream, one syncfs): 600 files in three
// folders arrive whole; a chunk missing in the middle of a batch fails only
// its file, named, and the files around it are restored.
TEST_F(RestoreTest, small_files_in_batches_and_a_missing_chunk_fails_only_its_file) {
  std::vector<v1::FileVersion> vs;
  for (int i = 0; i < 600; ++i) {
    vs.push_back(Make(absl::StrCat("d", i % 3, "/IMG_", i, ".jpg"),
                      absl::StrCat("photo ", i, std::string(static_cast<size_t>(i % 50), 'x')),
                      /*chunk=*/1000));  // one chunk each, none shared
  }
  fetcher_.chunks.erase(vs[300].chunks(0).id());
  auto r = RestoreVersions(vs, &fetcher_, Opts());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_restored, 599u);
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_EQ(r->failures[0].path, "d0/IMG_300.jpg");
  EXPECT_NE(r->failures[0].error.find("chunk missing"), std::string::npos) << r->failures[0].error;
  for (int i = 0; i < 600; ++i) {
    if (i == 300) continue;
    EXPECT_EQ(Read(dir_ / absl::StrCat("d", i % 3) / absl::StrCat("IMG_", i, ".jpg")),
              absl::StrCat("photo ", i, std::string(static_cast<size_t>(i % 50), 'x')))
        << i;
  }
  EXPECT_FALSE(fs::exists(dir_ / "d0" / "IMG_300.jpg"));
  for (int d = 0; d < 3; ++d) {
    for (auto& e : fs::directory_iterator(dir_ / absl::StrCat("d", d)))
      EXPECT_EQ(e.path().filename().string().find(".shoebox-restore"), std::string::npos)
          << "temp file left: " << e.path();
  }
}

TEST_F(RestoreTest, wrong_bytes_are_data_loss_and_not_renamed_into_place) {
  auto v = Make("c.jpg", "correct content");
  for (auto& [id, data] : fetcher_.chunks) data[0] ^= 1;  // corrupt what the store returns
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_NE(r->failures[0].error.find("SHA-256"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "c.jpg"));
}

TEST_F(RestoreTest, escaping_paths_are_refused) {
  for (std::string bad : {"../evil.jpg", "/etc/passwd", "a/../../evil", "a//b", "./x"}) {
    auto v = Make(bad, "x");
    auto r = RestoreVersions({v}, &fetcher_, Opts());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->failures.size(), 1u) << bad;
  }
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "evil.jpg"));
}

TEST_F(RestoreTest, symlink_inside_target_is_not_followed_out) {
  fs::path outside = dir_.string() + "-outside";
  fs::create_directories(outside);
  fs::create_directory_symlink(outside, dir_ / "link");
  auto v = Make("link/evil.jpg", "x");
  auto r = RestoreVersions({v}, &fetcher_, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failures.size(), 1u);
  EXPECT_FALSE(fs::exists(outside / "evil.jpg"));
  fs::remove_all(outside);
}

TEST_F(RestoreTest, whole_device_restore_prefixes_folder_basename) {
  auto v = Make("p.jpg", "x");
  auto o = Opts();
  o.prefix_folder = true;
  auto p = RestoreTargetPath(v, o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "photos/p.jpg");
}

}  // namespace
}  // namespace shoebox::cli
