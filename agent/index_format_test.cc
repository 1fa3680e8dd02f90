#include "agent/index_format.h"

#include "gtest/gtest.h"

namespace shoebox::agent {
namespace {

IndexEntry SampleEntry() {
  IndexEntry e;
  e.kind = EntryKind::kFile;
  e.stat = FileStat{5ull << 32, 1700000000123456789LL, 1700000000223456789LL, 42, 7, 0100644};
  e.state = ReportState::kAcked;
  e.sha256.fill(0xab);
  for (int i = 0; i < 3; ++i) {
    ChunkEntry c;
    c.id.fill(static_cast<uint8_t>(i));
    c.size = 1000000 + i;
    e.chunks.push_back(c);
  }
  return e;
}

TEST(IndexFormatTest, IndexEntryRoundTrips) {
  IndexEntry e = SampleEntry();
  auto d = DecodeIndexEntry(EncodeIndexEntry(e));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->stat.size, e.stat.size);
  EXPECT_EQ(d->stat.mtime_ns, e.stat.mtime_ns);
  EXPECT_EQ(d->stat.ctime_ns, e.stat.ctime_ns);
  EXPECT_EQ(d->stat.inode, 42u);
  EXPECT_EQ(d->stat.mode, 0100644u);
  EXPECT_EQ(d->state, ReportState::kAcked);
  EXPECT_EQ(d->sha256, e.sha256);
  ASSERT_EQ(d->chunks.size(), 3u);
  EXPECT_EQ(d->chunks[2].size, 1000002u);
  EXPECT_EQ(d->chunks[1].id, e.chunks[1].id);
}

TEST(IndexFormatTest, StatOnlyDecodeSkipsChunks) {
  auto d = DecodeIndexEntry(EncodeIndexEntry(SampleEntry()), /*with_chunks=*/false);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->chunks.empty());
  EXPECT_EQ(d->stat.inode, 42u);
}

TEST(IndexFormatTest, EveryFlippedByteIsDataLoss) {
  std::string v = EncodeIndexEntry(SampleEntry());
  for (size_t i = 0; i < v.size(); ++i) {
    std::string bad = v;
    bad[i] ^= 0x01;
    auto d = DecodeIndexEntry(bad);
    ASSERT_FALSE(d.ok()) << "byte " << i;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(DecodeIndexEntry(v.substr(0, v.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeIndexEntry("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(IndexFormatTest, OutboxEntryRoundTripsAndDetectsCorruption) {
  OutboxEntry e;
  e.generation = 99;
  e.op = OutboxOp::kUpsert;
  e.stat.size = 10;
  e.sha256.fill(3);
  e.chunks.push_back(ChunkEntry{{}, 10});
  e.queued_unix_ms = 12345;
  std::string v = EncodeOutboxEntry(e);
  auto d = DecodeOutboxEntry(v);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->generation, 99u);
  EXPECT_EQ(d->chunks.size(), 1u);
  EXPECT_EQ(d->queued_unix_ms, 12345);
  v[5] ^= 0x40;
  EXPECT_EQ(DecodeOutboxEntry(v).status().code(), absl::StatusCode::kDataLoss);
  // An index value is not an outbox value.
  EXPECT_FALSE(DecodeOutboxEntry(EncodeIndexEntry(SampleEntry())).ok());

  OutboxEntry del;
  del.op = OutboxOp::kDelete;
  auto dd = DecodeOutboxEntry(EncodeOutboxEntry(del));
  ASSERT_TRUE(dd.ok());
  EXPECT_EQ(dd->op, OutboxOp::kDelete);
}

TEST(IndexFormatTest, KeysGroupChildrenAndRoundTrip) {
  std::string k = MakeKey(7, "a/b", std::string("n\xff", 2));
  auto p = ParseKey(k);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->folder_id, 7u);
  EXPECT_EQ(p->dir, "a/b");
  EXPECT_EQ(p->RelPath(), std::string("a/b/n\xff", 6));
  EXPECT_EQ(k.rfind(ChildrenPrefix(7, "a/b"), 0), 0u);
  EXPECT_NE(k.rfind(ChildrenPrefix(7, "a"), 0), 0u);  // not a direct child of a
  auto root = ParseKey(MakeKey(1, "", "x.jpg"));
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->RelPath(), "x.jpg");
}

TEST(IndexFormatTest, Crc32cKnownVector) { EXPECT_EQ(Crc32c("123456789"), 0xE3069283u); }

}  // namespace
}  // namespace shoebox::agent
