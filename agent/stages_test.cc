// The agent's pipeline stages on their own: the read stage, settle tracking
// and the rescan schedule of housekeeping (no coordinator).
#include <fcntl.h>
#include <sys/inotify.h>
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

// Settle tracking on a fake clock: which rule lets a file go, and when.
class FakeClock : public SettleTracker::Clock {
 public:
  int64_t SteadyNs() const override { return steady_; }
  int64_t WallNs() const override { return wall_; }
  void Advance(int64_t ms) {
    steady_ += ms * 1000000LL;
    wall_ += ms * 1000000LL;
  }

 private:
  int64_t steady_ = 1000000000000LL;
  int64_t wall_ = SettleTracker::Clock().WallNs();
};

class SettleCloseTest : public StagesTest {
 protected:
  static constexpr int64_t kSettleMs = 3600 * 1000;  // the full settle time: one hour
  static constexpr int64_t kConfirmMs = 300;

  void SetUp() override {
    StagesTest::SetUp();
    StartReader(std::make_shared<ChunkHasher>(testing::TestKeys()));
    scanner_ = std::make_unique<Scanner>(db_.get(), &sink_);
    settle_ =
        std::make_unique<SettleTracker>(kSettleMs * 1000000LL, db_.get(), scanner_.get(),
                                        reader_.get(), &stats_, kConfirmMs * 1000000LL, &clock_);
    sink_.settle = settle_.get();
    WriteFile(tree_.path() + "/new.jpg", RandomBytes(5000, 7));
  }

  // The scan thread's view of an event batch: the path is checked (a
  // candidate when new or changed), then the events go to the tracker.
  void Events(std::vector<uint32_t> masks) {
    ScanStats ss;
    ASSERT_TRUE(scanner_->CheckPath(folder_.get(), "", "new.jpg", &ss).ok());
    settle_->OnEvents(folder_.get(), "", "new.jpg", masks);
  }
  // Advances the clock and runs one round; true when the file was let go.
  bool AfterMs(int64_t ms) {
    clock_.Advance(ms);
    settle_->Process(/*force_all=*/false);
    return !settle_->Waiting();
  }

  FakeClock clock_;
  ForwardingSink sink_;
  std::unique_ptr<Scanner> scanner_;
  std::unique_ptr<SettleTracker> settle_;
};

TEST_F(SettleCloseTest, ClosedFileIsReadAfterTheConfirmationNotTheSettleTime) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE});
  ASSERT_TRUE(settle_->Waiting());
  EXPECT_EQ(settle_->NextDueNs(), clock_.SteadyNs() + kConfirmMs * 1000000LL);
  EXPECT_FALSE(AfterMs(kConfirmMs - 1));
  EXPECT_TRUE(AfterMs(1));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kClosed);
  EXPECT_EQ(stats_.settled_on_close.load(), 1u);
  EXPECT_EQ(stats_.settled_after_wait.load(), 0u);
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  EXPECT_EQ(db_->outbox_files(), 1u);
}

TEST_F(SettleCloseTest, FileSeenOnlyByAScanWaitsTheFullSettleTime) {
  ScanStats ss;
  ASSERT_TRUE(scanner_->ScanDir(folder_.get(), "", /*recursive=*/true, &ss).ok());
  ASSERT_TRUE(settle_->Waiting());
  EXPECT_FALSE(AfterMs(10 * 1000));
  EXPECT_TRUE(AfterMs(kSettleMs));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kWaited);
  EXPECT_EQ(stats_.settled_on_close.load(), 0u);
  EXPECT_EQ(stats_.settled_after_wait.load(), 1u);
}

TEST_F(SettleCloseTest, StillOpenForWritingWaitsTheFullSettleTime) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY});  // written, not closed
  EXPECT_FALSE(AfterMs(10 * 1000));
  EXPECT_TRUE(AfterMs(kSettleMs));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kWaited);
}

TEST_F(SettleCloseTest, WrittenAgainAfterTheCloseWaitsTheFullSettleTime) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE});
  EXPECT_FALSE(AfterMs(100));
  Events({IN_MODIFY});  // a write through a descriptor still open elsewhere
  EXPECT_FALSE(AfterMs(10 * 1000));
  EXPECT_TRUE(AfterMs(kSettleMs));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kWaited);
}

TEST_F(SettleCloseTest, OpenedAgainBeforeItIsReadWaitsUntilClosedAgain) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE});
  EXPECT_FALSE(AfterMs(100));
  Events({IN_OPEN});  // a writer or a reader: not known until it closes
  EXPECT_FALSE(AfterMs(10 * 1000));
  Events({IN_CLOSE_NOWRITE});  // it only read: the confirmation starts again
  EXPECT_FALSE(AfterMs(kConfirmMs - 1));
  EXPECT_TRUE(AfterMs(1));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kClosed);
}

TEST_F(SettleCloseTest, ReopenedAndClosedAfterWritingIsConfirmedFromTheNewClose) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE});
  EXPECT_FALSE(AfterMs(200));
  WriteFile(tree_.path() + "/new.jpg", RandomBytes(9000, 8));
  Events({IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE});
  EXPECT_FALSE(AfterMs(kConfirmMs - 1));
  EXPECT_TRUE(AfterMs(1));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kClosed);
  ASSERT_TRUE(WaitFor([&] { return reader_->Idle(); }));
  auto known = db_->GetIndex(1, "", "new.jpg");
  ASSERT_TRUE(known.ok() && known->has_value());
  EXPECT_EQ((*known)->stat.size, 9000u);
}

TEST_F(SettleCloseTest, StatChangeWithoutAWriteRestartsTheConfirmation) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE});
  clock_.Advance(200);
  // The mtime set after the close (as `cp -p` and rsync do), without an
  // event reaching the tracker: the stat differs when it is confirmed.
  struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (tree_.path() + "/new.jpg").c_str(), times, 0), 0);
  EXPECT_FALSE(AfterMs(kConfirmMs - 200));  // due, but its stat changed
  EXPECT_FALSE(AfterMs(kConfirmMs - 1));
  EXPECT_TRUE(AfterMs(1));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kClosed);
}

TEST_F(SettleCloseTest, RenamedOntoTheNameWaitsTheFullSettleTime) {
  Events({IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO});
  EXPECT_FALSE(AfterMs(10 * 1000));
  EXPECT_TRUE(AfterMs(kSettleMs));
  EXPECT_EQ(settle_->last_reason(), SettleTracker::Reason::kWaited);
}

TEST_F(SettleCloseTest, EventsOfAFileThatDoesNotWaitAreIgnored) {
  settle_->OnEvents(folder_.get(), "", "other.jpg", {IN_CLOSE_WRITE});
  EXPECT_FALSE(settle_->Waiting());
  EXPECT_EQ(settle_->NextDueNs(), INT64_MAX);
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
