// The agent's pipeline stages on their own: the read stage, settle tracking
// and the rescan schedule of housekeeping (no coordinator).
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/hasher.h"
#include "agent/housekeeping.h"
#include "agent/read_stage.h"
#include "agent/settle_tracker.h"
#include "agent/test_util.h"
#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::WriteFile;

bool WaitFor(const std::function<bool()>& cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class StagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = StateDb::Open(state_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    FolderConfig fc;
    fc.path = tree_.path();
    folder_ = std::make_unique<Folder>(fc, 1);
    folder_->root_available = true;
  }
  void TearDown() override {
    if (reader_) reader_->Stop();
    for (std::thread& t : threads_) t.join();
  }

  // A read stage whose hand-backs are recorded here, with `n` reader threads.
  void StartReader(std::shared_ptr<const ChunkHasher> h, int n = 1) {
    ReadStage::Outputs out;
    out.retry = [this](HashTask t) {
      std::lock_guard<std::mutex> l(mu_);
      retried_.push_back(JoinRel(t.dir, t.name));
    };
    out.check = [this](Folder*, const std::string& rel) {
      std::lock_guard<std::mutex> l(mu_);
      checked_.push_back(rel);
    };
    out.read_done = [this] { read_done_.fetch_add(1); };
    reader_ = std::make_unique<ReadStage>(db_.get(), &stats_, /*once=*/true, std::move(h),
                                          std::move(out));
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { reader_->Loop(); });
  }

  HashTask Task(const std::string& name) {
    auto st = StatRelative(tree_.path(), name);
    HashTask t;
    t.folder = folder_.get();
    t.name = name;
    if (st.ok()) t.stat = *st;
    return t;
  }

  std::vector<std::string> Checked() {
    std::lock_guard<std::mutex> l(mu_);
    return checked_;
  }

  TempDir state_, tree_;
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<Folder> folder_;
  AgentStats stats_;
  std::unique_ptr<ReadStage> reader_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<std::string> retried_, checked_;
  std::atomic<int> read_done_{0};
};

TEST_F(StagesTest, ReaderRecordsAQueuedFileInTheOutboxAndGoesIdle) {
  WriteFile(tree_.path() + "/a.jpg", RandomBytes(300 * 1024, 1));
  StartReader(std::make_shared<ChunkHasher>(testing::TestKeys()));
  reader_->Enqueue(Task("a.jpg"));
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  EXPECT_EQ(db_->outbox_files(), 1u);
  EXPECT_EQ(stats_.files_read.load(), 1u);
  EXPECT_EQ(stats_.files_waiting.load(), 0u);
  EXPECT_EQ(stats_.bytes_waiting.load(), 0u);
  EXPECT_FALSE(reader_->Busy(MakeKey(1, "", "a.jpg")));
  EXPECT_EQ(read_done_.load(), 1);
}

TEST_F(StagesTest, ReaderWaitsForTheSessionKeys) {
  WriteFile(tree_.path() + "/a.jpg", RandomBytes(1000, 2));
  StartReader(nullptr);
  reader_->Enqueue(Task("a.jpg"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(reader_->Busy(MakeKey(1, "", "a.jpg")));
  EXPECT_EQ(db_->outbox_files(), 0u);
  reader_->SetHasher(std::make_shared<ChunkHasher>(testing::TestKeys()));
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  EXPECT_EQ(db_->outbox_files(), 1u);
}

TEST_F(StagesTest, VanishedFileIsHandedBackBeforeItLeavesTheReadStage) {
  StartReader(std::make_shared<ChunkHasher>(testing::TestKeys()));
  HashTask t = Task("gone.jpg");
  reader_->Enqueue(std::move(t));
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  // Idle implies the hand-back already happened (read_stage.h, lock order).
  EXPECT_EQ(Checked(), std::vector<std::string>{"gone.jpg"});
  EXPECT_EQ(db_->outbox_files(), 0u);
}

// Candidates from the scanner go to settle tracking.
class ForwardingSink : public ChangeSink {
 public:
  void OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                   const FileStat& st) override {
    if (settle) settle->OnCandidate(f, dir, name, st);
  }
  void OnDirectory(Folder*, const std::string&, int) override {}
  SettleTracker* settle = nullptr;
};

TEST_F(StagesTest, SettledFileGoesStraightToTheReader) {
  WriteFile(tree_.path() + "/old.jpg", RandomBytes(5000, 3));
  StartReader(std::make_shared<ChunkHasher>(testing::TestKeys()));
  ForwardingSink sink;
  Scanner scanner(db_.get(), &sink);
  SettleTracker settle(/*settle_ns=*/0, db_.get(), &scanner, reader_.get(), &stats_);
  sink.settle = &settle;
  auto st = StatRelative(tree_.path(), "old.jpg");
  ASSERT_TRUE(st.ok());
  settle.OnCandidate(folder_.get(), "", "old.jpg", *st);
  EXPECT_FALSE(settle.Waiting());
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  EXPECT_EQ(db_->outbox_files(), 1u);
}

TEST_F(StagesTest, UnsettledFileWaitsUntilForced) {
  WriteFile(tree_.path() + "/new.jpg", RandomBytes(5000, 4));
  StartReader(std::make_shared<ChunkHasher>(testing::TestKeys()));
  ForwardingSink sink;
  Scanner scanner(db_.get(), &sink);
  SettleTracker settle(/*settle_ns=*/3600LL * 1000000000LL, db_.get(), &scanner, reader_.get(),
                       &stats_);
  sink.settle = &settle;
  auto st = StatRelative(tree_.path(), "new.jpg");
  ASSERT_TRUE(st.ok());
  settle.OnCandidate(folder_.get(), "", "new.jpg", *st);
  EXPECT_TRUE(settle.Waiting());
  EXPECT_EQ(stats_.files_waiting.load(), 1u);
  settle.Process(/*force_all=*/false);
  EXPECT_TRUE(settle.Waiting());
  settle.Process(/*force_all=*/true);
  EXPECT_FALSE(settle.Waiting());
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  EXPECT_EQ(db_->outbox_files(), 1u);
  EXPECT_EQ(stats_.files_waiting.load(), 0u);
}

TEST_F(StagesTest, HandedBackPathsWaitInTheInboxUntilProcessed) {
  WriteFile(tree_.path() + "/b.jpg", RandomBytes(5000, 5));
  StartReader(std::make_shared<ChunkHasher>(testing::TestKeys()));
  ForwardingSink sink;
  Scanner scanner(db_.get(), &sink);
  SettleTracker settle(/*settle_ns=*/0, db_.get(), &scanner, reader_.get(), &stats_);
  sink.settle = &settle;
  EXPECT_TRUE(settle.InboxEmpty());
  settle.Check(folder_.get(), "b.jpg");
  EXPECT_FALSE(settle.InboxEmpty());
  settle.Process(/*force_all=*/false);
  EXPECT_TRUE(settle.InboxEmpty());
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  EXPECT_EQ(db_->outbox_files(), 1u);
}

TEST(HousekeepingTest, RescanIsDueWhenRequestedOrAfterTheInterval) {
  TempDir state;
  auto db = StateDb::Open(state.path());
  ASSERT_TRUE(db.ok());
  AgentConfig cfg;
  cfg.rescan_interval_seconds = 60;
  AgentStats stats;
  Housekeeping house(&cfg, /*once=*/true, /*progress_line=*/false, db->get(), &stats, [] {});
  auto t0 = std::chrono::steady_clock::now();
  house.FullScanStarted(t0);
  EXPECT_FALSE(house.TakeRescanDue(t0 + std::chrono::seconds(1)));
  house.RequestRescan();
  EXPECT_TRUE(house.TakeRescanDue(t0 + std::chrono::seconds(1)));
  EXPECT_FALSE(house.TakeRescanDue(t0 + std::chrono::seconds(2)));  // the request was taken
  EXPECT_TRUE(house.TakeRescanDue(t0 + std::chrono::seconds(60)));
  StatusSnapshot s = house.Snapshot();
  EXPECT_EQ(s.state, "offline");
  EXPECT_EQ(s.files_pending, 0u);
}

}  // namespace
}  // namespace shoebox::agent
