#include "agent/scanner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "agent/hasher.h"
#include "agent/test_util.h"
#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteFile;

// Reads every candidate at once (no settle) and records it, like the agent's
// reader threads; counts bytes read.
class ReadingSink : public ChangeSink {
 public:
  explicit ReadingSink(StateDb* db) : db_(db), hasher_(testing::TestKeys()) {}
  void OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                   const FileStat&) override {
    candidates.push_back(JoinRel(dir, name));
    auto r = HashFile(f->cfg.path, JoinRel(dir, name), hasher_, &bytes_read);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(db_->RecordUpsert(f->id, dir, name, r->stat, r->sha256, r->chunks).ok());
  }
  void OnDirectory(Folder*, const std::string& rel, int) override { dirs.push_back(rel); }
  std::vector<std::string> candidates;
  std::vector<std::string> dirs;
  std::atomic<uint64_t> bytes_read{0};

 private:
  StateDb* db_;
  ChunkHasher hasher_;
};

class ScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = StateDb::Open(state_.path());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    FolderConfig fc;
    fc.path = tree_.path();
    folder_ = std::make_unique<Folder>(fc, 1);
    sink_ = std::make_unique<ReadingSink>(db_.get());
    scanner_ = std::make_unique<Scanner>(db_.get(), sink_.get());
  }
  ScanStats Scan() {
    ScanStats st;
    EXPECT_TRUE(scanner_->CheckRoot(folder_.get()).ok());
    EXPECT_TRUE(scanner_->ScanDir(folder_.get(), "", true, &st).ok());
    return st;
  }
  size_t PendingDeletes() {
    size_t n = 0;
    EXPECT_TRUE(db_->ScanOutbox("",
                                [&](StateDb::PendingChange&& pc) {
                                  n += pc.entry.op == OutboxOp::kDelete;
                                  return true;
                                })
                    .ok());
    return n;
  }
  TempDir state_, tree_;
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<Folder> folder_;
  std::unique_ptr<ReadingSink> sink_;
  std::unique_ptr<Scanner> scanner_;
};

TEST_F(ScannerTest, UnchangedRescanReadsNoContent) {
  for (int i = 0; i < 50; ++i) {
    WriteFile(tree_.path() + "/d" + std::to_string(i % 5) + "/img" + std::to_string(i) + ".jpg",
              RandomBytes(10000 + i, i));
  }
  ScanStats first = Scan();
  EXPECT_EQ(first.files, 50u);
  EXPECT_EQ(first.candidates, 50u);
  uint64_t after_first = sink_->bytes_read.load();
  EXPECT_GT(after_first, 500000u);
  ScanStats second = Scan();
  EXPECT_EQ(second.files, 50u);
  EXPECT_EQ(second.candidates, 0u);
  EXPECT_EQ(sink_->bytes_read.load(), after_first);  // not one byte read
  // Touching one file makes exactly that file a candidate.
  WriteFile(tree_.path() + "/d1/img1.jpg", "changed");
  ScanStats third = Scan();
  EXPECT_EQ(third.candidates, 1u);
  EXPECT_EQ(sink_->candidates.back(), "d1/img1.jpg");
}

TEST_F(ScannerTest, SkipsSymlinksFifosSocketsAndTemporaryFiles) {
  WriteFile(tree_.path() + "/keep.jpg", "x");
  WriteFile(tree_.path() + "/IMG_2.jpg.part", "x");
  WriteFile(tree_.path() + "/x.tmp", "x");
  WriteFile(tree_.path() + "/.DS_Store", "x");
  WriteFile(tree_.path() + "/Thumbs.db", "x");
  WriteFile(tree_.path() + "/~$doc.jpg", "x");
  WriteFile(tree_.path() + "/notes.txt", "x");
  ASSERT_EQ(::symlink((tree_.path() + "/keep.jpg").c_str(), (tree_.path() + "/link.jpg").c_str()),
            0);
  ASSERT_EQ(::symlink(tree_.path().c_str(), (tree_.path() + "/loop").c_str()), 0);
  ASSERT_EQ(::mkfifo((tree_.path() + "/fifo.jpg").c_str(), 0644), 0);
  ScanStats st = Scan();
  ASSERT_EQ(sink_->candidates.size(), 1u);
  EXPECT_EQ(sink_->candidates[0], "keep.jpg");
  EXPECT_EQ(st.errors, 0u);
}

TEST_F(ScannerTest, DeletedFileAndDirectoryAreRecorded) {
  WriteFile(tree_.path() + "/keep.jpg", "k");
  WriteFile(tree_.path() + "/a.jpg", "a");
  WriteFile(tree_.path() + "/trip/b.jpg", "b");
  WriteFile(tree_.path() + "/trip/day/c.jpg", "c");
  Scan();
  std::filesystem::remove(tree_.path() + "/a.jpg");
  std::filesystem::remove_all(tree_.path() + "/trip");
  ScanStats st = Scan();
  EXPECT_EQ(st.deleted, 3u);
  EXPECT_EQ(PendingDeletes(), 3u);
}

TEST_F(ScannerTest, MissingRootIsNeverReportedAsDeletions) {
  WriteFile(tree_.path() + "/a.jpg", "a");
  WriteFile(tree_.path() + "/sub/b.jpg", "b");
  Scan();
  std::string moved = tree_.path() + ".moved";
  std::filesystem::rename(tree_.path(), moved);
  ScanStats st = Scan();
  EXPECT_TRUE(folder_->deletions_suppressed);
  EXPECT_EQ(st.deleted, 0u);
  EXPECT_EQ(PendingDeletes(), 0u);
  std::filesystem::rename(moved, tree_.path());
  Scan();
  EXPECT_FALSE(folder_->deletions_suppressed);
  EXPECT_EQ(PendingDeletes(), 0u);
}

TEST_F(ScannerTest, EmptyRootOfAPopulatedFolderIsTreatedAsUnmounted) {
  WriteFile(tree_.path() + "/a.jpg", "a");
  WriteFile(tree_.path() + "/b.jpg", "b");
  Scan();
  std::filesystem::remove(tree_.path() + "/a.jpg");
  std::filesystem::remove(tree_.path() + "/b.jpg");
  ScanStats st = Scan();
  EXPECT_TRUE(folder_->deletions_suppressed);
  EXPECT_EQ(st.deleted, 0u);
  // Explicitly accepted: the deletions are recorded.
  Scanner accepting(db_.get(), sink_.get(), /*accept_new_device=*/true);
  ScanStats st2;
  ASSERT_TRUE(accepting.CheckRoot(folder_.get()).ok());
  ASSERT_TRUE(accepting.ScanDir(folder_.get(), "", true, &st2).ok());
  EXPECT_EQ(st2.deleted, 2u);
}

TEST_F(ScannerTest, AwkwardNamesAreScanned) {
  std::vector<std::string> names = {
      std::string("caf\xe9.jpg"),                                       // Latin-1, not UTF-8
      std::string("\xff\xfe bad.jpg"), std::string(251, 'n') + ".jpg",  // 255 bytes
      "with space and #hash.jpg",      "emoji \xf0\x9f\x93\xb7.jpg",   "new\nline.jpg", "zero.jpg",
  };
  for (const auto& n : names) WriteFile(tree_.path() + "/" + n, n == "zero.jpg" ? "" : n);
  ScanStats st = Scan();
  EXPECT_EQ(st.candidates, names.size());
  EXPECT_EQ(st.errors, 0u);
  EXPECT_EQ(Scan().candidates, 0u);
}

TEST_F(ScannerTest, CheckPathFindsNewFileAndNewDirectory) {
  Scan();
  WriteFile(tree_.path() + "/new.jpg", "n");
  WriteFile(tree_.path() + "/newdir/inner/x.jpg", "x");
  ScanStats st;
  ASSERT_TRUE(scanner_->CheckPath(folder_.get(), "", "new.jpg", &st).ok());
  ASSERT_TRUE(scanner_->CheckPath(folder_.get(), "", "newdir", &st).ok());
  EXPECT_EQ(st.candidates, 2u);
  std::filesystem::remove(tree_.path() + "/new.jpg");
  ScanStats st2;
  ASSERT_TRUE(scanner_->CheckPath(folder_.get(), "", "new.jpg", &st2).ok());
  EXPECT_EQ(st2.deleted, 1u);
}

}  // namespace
}  // namespace shoebox::agent
