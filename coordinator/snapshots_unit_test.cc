// CatalogSnapshots' logic against in-memory stores and a fake dump: what
// TakeNow stores, how names stay unique, which snapshots are kept, when copy
// jobs are queued. pg_dump, real chunk stores and the restore run in
// tests/coordinator/recovery_test.cc.
#include "coordinator/snapshots.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/snapshot/catalog_snapshot.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

class CatalogSnapshotsTest : public ::testing::Test {
 protected:
  std::unique_ptr<CatalogSnapshots> Make(uint32_t keep, SnapshotStore* copies) {
    return std::make_unique<CatalogSnapshots>(
        [this]() -> absl::StatusOr<std::string> {
          ++dumps_;
          if (!dump_error_.ok()) return dump_error_;
          return std::string("-- PostgreSQL database dump ") + std::to_string(dumps_);
        },
        &blobs_, copies, key_, /*interval_s=*/0, keep);
  }

  Key256 key_{9};
  FakeChunkStore blobs_;
  FakeSnapshotStore copies_;
  int dumps_ = 0;
  absl::Status dump_error_;
};

TEST_F(CatalogSnapshotsTest, TakeNowStoresTheSealedDumpAndQueuesCopies) {
  std::unique_ptr<CatalogSnapshots> s = Make(3, &copies_);
  absl::StatusOr<snapshot::Info> info = s->TakeNow();
  ASSERT_TRUE(info.ok()) << info.status();
  absl::StatusOr<std::vector<snapshot::Info>> list = s->List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, info->name);
  absl::StatusOr<std::string> sealed = blobs_.GetNamed(info->name);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  absl::StatusOr<std::string> plain = snapshot::Open(key_, *sealed, info->name);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "-- PostgreSQL database dump 1");
  ASSERT_EQ(copies_.requests().size(), 1u);
  EXPECT_EQ(copies_.requests()[0].first, info->name);
  EXPECT_EQ(copies_.requests()[0].second, 3u);
}

TEST_F(CatalogSnapshotsTest, NamesNeverRepeatWithinAMillisecond) {
  std::unique_ptr<CatalogSnapshots> s = Make(10, &copies_);
  std::vector<int64_t> created;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<snapshot::Info> info = s->TakeNow();
    ASSERT_TRUE(info.ok()) << info.status();
    created.push_back(info->created_unix_ms);
  }
  for (size_t i = 1; i < created.size(); ++i) EXPECT_GT(created[i], created[i - 1]);
  EXPECT_EQ(s->List()->size(), 4u);
}

TEST_F(CatalogSnapshotsTest, KeepsTheNewestKeep) {
  std::unique_ptr<CatalogSnapshots> s = Make(2, &copies_);
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(s->TakeNow()->name);
  absl::StatusOr<std::vector<snapshot::Info>> list = s->List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, names[2]);  // newest first
  EXPECT_EQ((*list)[1].name, names[1]);
}

TEST_F(CatalogSnapshotsTest, KeepZeroKeepsOne) {
  std::unique_ptr<CatalogSnapshots> s = Make(0, &copies_);
  EXPECT_EQ(s->keep(), 1u);
  ASSERT_TRUE(s->TakeNow().ok());
  ASSERT_TRUE(s->TakeNow().ok());
  EXPECT_EQ(s->List()->size(), 1u);
  EXPECT_EQ(copies_.requests().back().second, 1u);
}

TEST_F(CatalogSnapshotsTest, FailedDumpStoresAndQueuesNothing) {
  dump_error_ = absl::UnavailableError("pg_dump: connection refused");
  std::unique_ptr<CatalogSnapshots> s = Make(3, &copies_);
  absl::StatusOr<snapshot::Info> info = s->TakeNow();
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::IsUnavailable(info.status())) << info.status();
  EXPECT_NE(info.status().message().find("dump the database"), std::string::npos) << info.status();
  EXPECT_TRUE(s->List()->empty());
  EXPECT_TRUE(copies_.requests().empty());
}

TEST_F(CatalogSnapshotsTest, CopyQueueFailureDoesNotFailTheSnapshot) {
  copies_.set_error(absl::UnavailableError("database down"));
  std::unique_ptr<CatalogSnapshots> s = Make(3, &copies_);
  absl::StatusOr<snapshot::Info> info = s->TakeNow();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(s->List()->size(), 1u);
}

TEST_F(CatalogSnapshotsTest, WithoutACopyStoreOnlyTheChunkStoreGetsIt) {
  std::unique_ptr<CatalogSnapshots> s = Make(3, nullptr);
  ASSERT_TRUE(s->TakeNow().ok());
  EXPECT_EQ(s->List()->size(), 1u);
}

TEST(RedactLocationTest, DropsCredentialsOnly) {
  EXPECT_EQ(RedactLocation("s3://AKIA:secret@minio:9000/bucket"), "s3://minio:9000/bucket");
  EXPECT_EQ(RedactLocation("s3://minio:9000/bucket"), "s3://minio:9000/bucket");
  EXPECT_EQ(RedactLocation("/var/lib/shoebox/chunks"), "/var/lib/shoebox/chunks");
}

}  // namespace
}  // namespace shoebox::coordinator
