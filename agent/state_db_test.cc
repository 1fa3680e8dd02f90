#include "agent/state_db.h"

#include "agent/test_util.h"
#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

using testing::TempDir;

FileStat Stat(uint64_t size, uint64_t inode) {
  FileStat s;
  s.size = size;
  s.mtime_ns = 1000 + static_cast<int64_t>(inode);
  s.ctime_ns = 2000;
  s.inode = inode;
  s.mode = 0100644;
  return s;
}

std::vector<StateDb::PendingChange> AllPending(StateDb* db) {
  std::vector<StateDb::PendingChange> out;
  EXPECT_TRUE(db->ScanOutbox("", [&](StateDb::PendingChange&& pc) {
                  out.push_back(std::move(pc));
                  return true;
                }).ok());
  return out;
}

TEST(StateDbTest, OutboxSurvivesReopenUntilAcknowledged) {
  TempDir d;
  Digest sha{};
  {
    auto db = StateDb::Open(d.path());
    ASSERT_TRUE(db.ok()) << db.status();
    auto folder = (*db)->FolderId("/photos");
    ASSERT_TRUE(folder.ok());
    ASSERT_TRUE(
        (*db)->RecordUpsert(*folder, "2024", "a.jpg", Stat(10, 1), sha, {ChunkEntry{{}, 10}}).ok());
    ASSERT_TRUE(
        (*db)->RecordUpsert(*folder, "2024", "b.jpg", Stat(20, 2), sha, {ChunkEntry{{}, 20}}).ok());
    EXPECT_EQ((*db)->outbox_files(), 2u);
    EXPECT_EQ((*db)->outbox_bytes(), 30u);
  }
  auto db = StateDb::Open(d.path());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->outbox_files(), 2u);
  EXPECT_EQ((*db)->outbox_bytes(), 30u);
  auto pending = AllPending(db->get());
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].parts.RelPath(), "2024/a.jpg");
  auto acked = (*db)->Acknowledge(pending[0].key, pending[0].entry.generation);
  ASSERT_TRUE(acked.ok());
  EXPECT_TRUE(*acked);
  EXPECT_EQ((*db)->outbox_files(), 1u);
  auto idx = (*db)->GetIndex(pending[0].parts.folder_id, "2024", "a.jpg");
  ASSERT_TRUE(idx.ok() && idx->has_value());
  EXPECT_EQ((*idx)->state, ReportState::kAcked);
  // Reopen again: the acknowledged change is not replayed.
  db->reset();
  auto db2 = StateDb::Open(d.path());
  ASSERT_TRUE(db2.ok());
  auto left = AllPending(db2->get());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].parts.RelPath(), "2024/b.jpg");
}

TEST(StateDbTest, AckOfOlderGenerationKeepsNewerChange) {
  TempDir d;
  auto db = StateDb::Open(d.path());
  ASSERT_TRUE(db.ok());
  Digest sha{};
  auto g1 = (*db)->RecordUpsert(1, "", "a.jpg", Stat(10, 1), sha, {});
  auto g2 = (*db)->RecordUpsert(1, "", "a.jpg", Stat(11, 1), sha, {});
  ASSERT_TRUE(g1.ok() && g2.ok());
  EXPECT_NE(*g1, *g2);
  EXPECT_EQ((*db)->outbox_files(), 1u);  // one pending change per path
  auto stale = (*db)->Acknowledge(MakeKey(1, "", "a.jpg"), *g1);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ((*db)->outbox_files(), 1u);
  EXPECT_TRUE(*(*db)->Acknowledge(MakeKey(1, "", "a.jpg"), *g2));
  EXPECT_EQ((*db)->outbox_files(), 0u);
}

TEST(StateDbTest, GenerationsStayUniqueAcrossReopen) {
  TempDir d;
  uint64_t g_before;
  {
    auto db = StateDb::Open(d.path());
    g_before = *(*db)->RecordUpsert(1, "", "a.jpg", Stat(1, 1), Digest{}, {});
  }
  auto db = StateDb::Open(d.path());
  uint64_t g_after = *(*db)->RecordUpsert(1, "", "b.jpg", Stat(1, 2), Digest{}, {});
  EXPECT_GT(g_after, g_before);
}

TEST(StateDbTest, RemovingADirectoryDeletesEveryFileBelowIt) {
  TempDir d;
  auto db = StateDb::Open(d.path());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->PutDir(1, "", "trip", Stat(0, 9)).ok());
  ASSERT_TRUE((*db)->PutDir(1, "trip", "day1", Stat(0, 10)).ok());
  for (auto [dir, name] : std::vector<std::pair<std::string, std::string>>{
           {"trip", "a.jpg"}, {"trip/day1", "b.jpg"}, {"tripx", "c.jpg"}, {"", "d.jpg"}}) {
    auto g = (*db)->RecordUpsert(1, dir, name, Stat(1, 3), Digest{}, {});
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(*(*db)->Acknowledge(MakeKey(1, dir, name), *g));
  }
  auto n = (*db)->RecordRemoval(1, "", "trip");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  auto pending = AllPending(db->get());
  ASSERT_EQ(pending.size(), 2u);
  for (auto& p : pending) EXPECT_EQ(p.entry.op, OutboxOp::kDelete);
  std::map<std::string, IndexEntry> root;
  ASSERT_TRUE((*db)->ListChildren(1, "", &root).ok());
  EXPECT_EQ(root.size(), 1u);  // d.jpg; trip is gone
  std::map<std::string, IndexEntry> other;
  ASSERT_TRUE((*db)->ListChildren(1, "tripx", &other).ok());
  EXPECT_EQ(other.size(), 1u);  // a sibling with a common prefix is untouched
}

TEST(StateDbTest, SecondAgentOnSameStateDirIsRefused) {
  TempDir d;
  auto a = StateDb::Open(d.path());
  ASSERT_TRUE(a.ok());
  auto b = StateDb::Open(d.path());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(std::string(b.status().message()).find("another shoebox-agent"), std::string::npos);
}

}  // namespace
}  // namespace shoebox::agent
