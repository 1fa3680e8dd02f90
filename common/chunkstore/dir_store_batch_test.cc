// Group commit of the directory chunk store (StagePutAligned + CommitPuts):
// what a batch makes durable and visible, and what a process killed (real
// SIGKILL) between the steps leaves behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/chunkstore/chunkstore.h"
#include "gtest/gtest.h"
#include "tests/support/chunkstore_conformance.h"

namespace shoebox {
namespace {

namespace fs = std::filesystem;
using testing::IdHex;
using testing::TestBlob;
using testing::TestId;

constexpr int kChunks = 40;  // spread over many shard directories

std::string MakeTempDir() {
  std::string tmpl = "/tmp/shoebox_dirbatch_XXXXXX";
  char* d = ::mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr) << std::strerror(errno);
  return tmpl;
}

class DirBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Root() const { return dir_ + "/store"; }
  // Files under the shard directories: temp files and chunks.
  void CountFiles(int* temps, int* chunks) const {
    *temps = 0;
    *chunks = 0;
    for (const auto& e : fs::recursive_directory_iterator(Root())) {
      if (!e.is_regular_file()) continue;
      const std::string name = e.path().filename().string();
      if (name.rfind(".tmp.", 0) == 0) {
        ++*temps;
      } else if (name.size() == 62) {
        ++*chunks;
      }
    }
  }
  std::string dir_;
};

// The staged chunk's bytes, in the aligned buffer StagePutAligned takes.
AlignedBytes& Aligned(const std::string& blob) {
  thread_local AlignedBytes buf;
  uint8_t* p = buf.Reserve(blob.size());
  std::memcpy(p, blob.data(), blob.size());
  return buf;
}

TEST_F(DirBatchTest, StagedChunksAreInvisibleUntilCommitThenReadable) {
  std::vector<std::string> steps;
  DirChunkStoreOptions opts;
  opts.on_commit_step = [&](std::string_view s) { steps.emplace_back(s); };
  auto store = OpenDirChunkStore(Root(), opts);
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<ChunkStore::StagedPut> batch;
  for (int i = 0; i < kChunks; ++i) {
    AlignedBytes& buf = Aligned(TestBlob(i, 1000 + 37 * i));
    auto staged = (*store)->StagePutAligned(TestId(i), buf, 1000 + 37 * i);
    ASSERT_TRUE(staged.ok()) << staged.status();
    batch.push_back(*staged);
    // Not visible before the commit: not listed, Has false, Get NOT_FOUND.
    EXPECT_FALSE(*(*store)->Has(TestId(i)));
    EXPECT_TRUE(absl::IsNotFound((*store)->Get(TestId(i)).status()));
  }
  int listed = 0;
  ASSERT_TRUE((*store)
                  ->List([&](const ChunkId&) {
                    ++listed;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(listed, 0);
  ASSERT_TRUE((*store)->CommitPuts(batch).ok());
  EXPECT_EQ(steps, (std::vector<std::string>{"staged", "data_synced", "renamed", "committed"}));
  for (int i = 0; i < kChunks; ++i) {
    auto got = (*store)->Get(TestId(i));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, TestBlob(i, 1000 + 37 * i)) << i;
  }
  int temps = 0, chunks = 0;
  CountFiles(&temps, &chunks);
  EXPECT_EQ(temps, 0);
  EXPECT_EQ(chunks, kChunks);
}

TEST_F(DirBatchTest, AbandonRemovesStagedTempFiles) {
  auto store = OpenDirChunkStore(Root());
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<ChunkStore::StagedPut> batch;
  for (int i = 0; i < 5; ++i) {
    AlignedBytes& buf = Aligned(TestBlob(i, 5000));
    auto staged = (*store)->StagePutAligned(TestId(i), buf, 5000);
    ASSERT_TRUE(staged.ok()) << staged.status();
    batch.push_back(*staged);
  }
  (*store)->AbandonPuts(batch);
  int temps = 0, chunks = 0;
  CountFiles(&temps, &chunks);
  EXPECT_EQ(temps, 0);
  EXPECT_EQ(chunks, 0);
}

TEST_F(DirBatchTest, EmptyBatchAndAlreadyStoredEntriesCommitWithoutSync) {
  std::vector<std::string> steps;
  DirChunkStoreOptions opts;
  opts.on_commit_step = [&](std::string_view s) { steps.emplace_back(s); };
  auto store = OpenDirChunkStore(Root(), opts);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->CommitPuts({}).ok());
  EXPECT_TRUE((*store)->CommitPuts({ChunkStore::StagedPut{TestId(1), ""}}).ok());
  EXPECT_TRUE(steps.empty());
}

TEST_F(DirBatchTest, ConcurrentBatchesShareSyncsAndAllLand) {
  auto store = OpenDirChunkStore(Root());
  ASSERT_TRUE(store.ok()) << store.status();
  constexpr int kThreads = 6, kBatches = 4, kPerBatch = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<ChunkStore::StagedPut> batch;
        for (int i = 0; i < kPerBatch; ++i) {
          const int n = (t * kBatches + b) * kPerBatch + i;
          AlignedBytes& buf = Aligned(TestBlob(n, 2000 + n));
          auto staged = (*store)->StagePutAligned(TestId(n), buf, 2000 + n);
          if (!staged.ok()) {
            ++failures;
            return;
          }
          batch.push_back(*staged);
        }
        if (!(*store)->CommitPuts(batch).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int n = 0; n < kThreads * kBatches * kPerBatch; ++n) {
    auto got = (*store)->Get(TestId(n));
    ASSERT_TRUE(got.ok()) << n << ": " << got.status();
    EXPECT_EQ(*got, TestBlob(n, 2000 + n)) << n;
  }
  int temps = 0, chunks = 0;
  CountFiles(&temps, &chunks);
  EXPECT_EQ(temps, 0);
  EXPECT_EQ(chunks, kThreads * kBatches * kPerBatch);
}

// A child process stages a batch, commits it, then records the IDs in a
// "catalog" file (fsynced) and then "acks" them (another file), like the
// coordinator's PutChunks. It is killed with SIGKILL at one commit step.
// Whatever the step: every ID the catalog names is stored complete, every
// final name present holds its whole chunk, nothing is acked that the
// catalog does not hold, and reopening the store removes the temp files.
class DirBatchKillTest : public DirBatchTest, public ::testing::WithParamInterface<std::string> {};

void AppendLines(const std::string& path, const std::vector<std::string>& lines) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) _exit(3);
  std::string all;
  for (const std::string& l : lines) all += l + "\n";
  if (::write(fd, all.data(), all.size()) != static_cast<ssize_t>(all.size())) _exit(4);
  if (::fsync(fd) != 0) _exit(5);
  ::close(fd);
}

std::set<std::string> ReadLines(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

TEST_P(DirBatchKillTest, KillDuringCommitLosesNothingReferenced) {
  const std::string kill_at = GetParam();
  const std::string catalog = dir_ + "/catalog";
  const std::string acks = dir_ + "/acks";
  // A first batch committed and referenced before the killed one.
  {
    auto store = OpenDirChunkStore(Root());
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<ChunkStore::StagedPut> batch;
    std::vector<std::string> ids;
    for (int i = 1000; i < 1010; ++i) {
      AlignedBytes& buf = Aligned(TestBlob(i, 3000));
      auto staged = (*store)->StagePutAligned(TestId(i), buf, 3000);
      ASSERT_TRUE(staged.ok()) << staged.status();
      batch.push_back(*staged);
      ids.push_back(IdHex(TestId(i)));
    }
    ASSERT_TRUE((*store)->CommitPuts(batch).ok());
    AppendLines(catalog, ids);
    AppendLines(acks, ids);
  }
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    DirChunkStoreOptions opts;
    opts.on_commit_step = [&](std::string_view s) {
      if (s == kill_at) ::raise(SIGKILL);
    };
    auto store = OpenDirChunkStore(Root(), opts);
    if (!store.ok()) _exit(2);
    std::vector<ChunkStore::StagedPut> batch;
    std::vector<std::string> ids;
    for (int i = 0; i < kChunks; ++i) {
      AlignedBytes& buf = Aligned(TestBlob(i, 20000 + i));
      auto staged = (*store)->StagePutAligned(TestId(i), buf, 20000 + i);
      if (!staged.ok()) _exit(6);
      batch.push_back(*staged);
      ids.push_back(IdHex(TestId(i)));
    }
    if (kill_at == "before_commit") ::raise(SIGKILL);
    if (!(*store)->CommitPuts(batch).ok()) _exit(7);
    AppendLines(catalog, ids);  // the catalog commit, after the chunks are durable
    if (kill_at == "after_catalog") ::raise(SIGKILL);
    AppendLines(acks, ids);  // the acks to the agent, last
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  if (kill_at == "none") {
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  } else {
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  }

  const std::set<std::string> referenced = ReadLines(catalog);
  const std::set<std::string> acked = ReadLines(acks);
  for (const std::string& id : acked) EXPECT_TRUE(referenced.contains(id)) << id;
  // The catalog holds the killed batch only when the kill came after it.
  const bool batch_referenced = kill_at == "none" || kill_at == "after_catalog";
  EXPECT_EQ(referenced.contains(IdHex(TestId(0))), batch_referenced);
  EXPECT_EQ(acked.contains(IdHex(TestId(0))), kill_at == "none");

  DirChunkStoreOptions reopen;
  reopen.stale_temp_seconds = 0;  // no other writer: every temp file is a leftover
  auto store = OpenDirChunkStore(Root(), reopen);
  ASSERT_TRUE(store.ok()) << store.status();
  int temps = 0, chunks = 0;
  CountFiles(&temps, &chunks);
  EXPECT_EQ(temps, 0);
  // Every referenced chunk is there, whole.
  for (int i = 1000; i < 1010; ++i) {
    auto got = (*store)->Get(TestId(i));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, TestBlob(i, 3000));
  }
  int present = 0;
  for (int i = 0; i < kChunks; ++i) {
    auto got = (*store)->Get(TestId(i));
    if (referenced.contains(IdHex(TestId(i)))) {
      ASSERT_TRUE(got.ok()) << "referenced chunk " << i << " missing: " << got.status();
    }
    if (got.ok()) {
      // A final name is never a prefix or a mix.
      EXPECT_EQ(*got, TestBlob(i, 20000 + i)) << i;
      ++present;
    } else {
      EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
    }
  }
  // Before the renames nothing of the batch is visible; after them all is.
  const bool renamed =
      kill_at != "before_commit" && kill_at != "staged" && kill_at != "data_synced";
  EXPECT_EQ(present, renamed ? kChunks : 0);
  EXPECT_EQ(chunks, 10 + present);
}

INSTANTIATE_TEST_SUITE_P(Steps, DirBatchKillTest,
                         ::testing::Values("before_commit", "staged", "data_synced", "renamed",
                                           "committed", "after_catalog", "none"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace shoebox
