// Retention's logic against in-memory stores: which versions a folder's
// policy removes given the store's rows, what a dry run reports without
// changing anything, that chunks are collected only after the versions that
// referenced them are gone and their grace period is over. The SQL (locks,
// concurrent prunes, pass-through bindings) runs against PostgreSQL in
// tests/coordinator/retention_test.cc.
#include "coordinator/retention.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto/hash.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr int64_t kNow = 1'750'000'000'000;  // 2025-06-15

std::string Cid(char c) { return std::string(32, c); }

// Keep versions younger than `keep_all_days`, no buckets.
RetentionPolicy KeepDays(uint32_t keep_all_days) {
  RetentionPolicy p;
  p.keep_all_days = keep_all_days;
  p.keep_daily = p.keep_weekly = p.keep_monthly = p.keep_yearly = 0;
  p.deleted_keep_days = 7;
  return p;
}

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() { store_.SetNow(kNow); }

  // A Retention with this grace period (the schedule never starts).
  std::unique_ptr<Retention> Make(uint32_t grace_s) {
    return std::make_unique<Retention>(&store_, &audit_, &blobs_, grace_s);
  }

  // A version whose chunk blobs are in the chunk store.
  int64_t Version(int64_t folder, const std::string& path, int64_t age_days,
                  const std::vector<std::string>& chunks) {
    for (const std::string& c : chunks) {
      ChunkId id;
      DigestFromString(c, &id);
      EXPECT_TRUE(blobs_.Put(id, "blob").ok());
    }
    return store_.AddVersion(folder, path, kNow - age_days * kDay, chunks);
  }

  bool HasBlob(const std::string& c) {
    ChunkId id;
    DigestFromString(c, &id);
    return *blobs_.Has(id);
  }

  pb::PruneResponse Prune(Retention& r, bool dry_run) {
    pb::PruneRequest req;
    req.set_dry_run(dry_run);
    absl::StatusOr<pb::PruneResponse> out = r.Prune("alice", req);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : pb::PruneResponse();
  }

  FakeRetentionStore store_;
  FakeIdentityStore audit_;
  FakeChunkStore blobs_;
};

TEST_F(RetentionTest, PolicyRemovesVersionsOlderThanKeepAll) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(folder, KeepDays(3));
  const int64_t old1 = Version(folder, "a.txt", 10, {Cid('a')});
  const int64_t old2 = Version(folder, "a.txt", 5, {Cid('b')});
  const int64_t recent = Version(folder, "a.txt", 1, {Cid('c')});
  const int64_t current = Version(folder, "a.txt", 0, {Cid('d')});
  std::unique_ptr<Retention> r = Make(/*grace_s=*/3600);
  pb::PruneResponse out = Prune(*r, false);
  EXPECT_EQ(out.versions_removed(), 2u);
  EXPECT_EQ(out.files_forgotten(), 0u);
  EXPECT_FALSE(store_.HasVersion(old1));
  EXPECT_FALSE(store_.HasVersion(old2));
  EXPECT_TRUE(store_.HasVersion(recent));
  EXPECT_TRUE(store_.HasVersion(current));
  EXPECT_EQ(store_.Refcount(Cid('a')), 0);
  EXPECT_EQ(store_.Refcount(Cid('c')), 1);
}

TEST_F(RetentionTest, FolderWithoutPolicyFollowsTheDefaults) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  // Default: keep everything 30 days.
  const int64_t young = Version(folder, "a.txt", 20, {Cid('a')});
  const int64_t old = Version(folder, "b.txt", 400, {Cid('b')});
  Version(folder, "b.txt", 0, {Cid('c')});
  Version(folder, "a.txt", 0, {Cid('d')});
  std::unique_ptr<Retention> r = Make(3600);
  Prune(*r, false);
  EXPECT_TRUE(store_.HasVersion(young));
  // 400 days old, but the default keeps monthly/yearly buckets: the only
  // version of its month stays.
  EXPECT_TRUE(store_.HasVersion(old));
}

TEST_F(RetentionTest, OnlyTheFoldersOwnPolicyApplies) {
  const int64_t strict = store_.AddFolder("laptop", "/tmp");
  const int64_t lax = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(strict, KeepDays(1));
  const int64_t in_strict = Version(strict, "x", 5, {Cid('a')});
  Version(strict, "x", 0, {Cid('b')});
  const int64_t in_lax = Version(lax, "x", 5, {Cid('c')});
  Version(lax, "x", 0, {Cid('d')});
  std::unique_ptr<Retention> r = Make(3600);
  Prune(*r, false);
  EXPECT_FALSE(store_.HasVersion(in_strict));
  EXPECT_TRUE(store_.HasVersion(in_lax));
}

TEST_F(RetentionTest, DryRunReportsWithoutChangingAnything) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(folder, KeepDays(3));
  const int64_t old = Version(folder, "a.txt", 10, {Cid('a'), Cid('s')});
  Version(folder, "a.txt", 0, {Cid('b'), Cid('s')});
  store_.AddJob(old, /*leased=*/false);
  std::unique_ptr<Retention> r = Make(/*grace_s=*/0);
  pb::PruneResponse out = Prune(*r, true);
  EXPECT_TRUE(out.dry_run());
  EXPECT_EQ(out.versions_removed(), 1u);
  EXPECT_EQ(out.jobs_removed(), 1u);
  // Grace 0: the chunk only the old version used would go now; the shared
  // one stays.
  EXPECT_EQ(out.chunks_removed(), 1u);
  EXPECT_EQ(out.chunk_bytes_removed(), 100u);
  EXPECT_TRUE(store_.HasVersion(old));
  EXPECT_EQ(store_.JobCount(), 1u);
  EXPECT_EQ(store_.Refcount(Cid('a')), 1);
  EXPECT_TRUE(HasBlob(Cid('a')));
  EXPECT_TRUE(audit_.RecentAudit(10)->empty());  // a dry run is not audited
  // The real prune does what the dry run said.
  pb::PruneResponse real = Prune(*r, false);
  EXPECT_EQ(real.versions_removed(), 1u);
  EXPECT_EQ(real.chunks_removed(), 1u);
  EXPECT_FALSE(store_.HasChunk(Cid('a')));
  EXPECT_FALSE(HasBlob(Cid('a')));
  EXPECT_TRUE(HasBlob(Cid('s')));
  EXPECT_EQ(store_.Refcount(Cid('s')), 1);
  ASSERT_EQ(audit_.RecentAudit(10)->size(), 1u);
  EXPECT_EQ((*audit_.RecentAudit(10))[0].action, "Prune");
}

TEST_F(RetentionTest, ChunksGoOnlyAfterTheirVersionsAndTheGracePeriod) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(folder, KeepDays(3));
  Version(folder, "a.txt", 10, {Cid('a')});
  Version(folder, "a.txt", 0, {Cid('b')});
  std::unique_ptr<Retention> r = Make(/*grace_s=*/3600);
  pb::PruneResponse first = Prune(*r, false);
  EXPECT_EQ(first.versions_removed(), 1u);
  EXPECT_EQ(first.chunks_removed(), 0u);
  EXPECT_EQ(first.chunks_in_grace(), 1u);
  EXPECT_TRUE(store_.HasChunk(Cid('a')));
  EXPECT_TRUE(HasBlob(Cid('a')));
  // Versions are pruned before chunks are collected, in every prune.
  const std::vector<std::string> calls = store_.calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[0], "release");
  EXPECT_EQ(calls[1], "prune");
  EXPECT_EQ(calls[2], "mark");

  store_.SetNow(kNow + 3601 * 1000);
  pb::PruneResponse second = Prune(*r, false);
  EXPECT_EQ(second.chunks_removed(), 1u);
  EXPECT_EQ(second.chunks_in_grace(), 0u);
  EXPECT_FALSE(store_.HasChunk(Cid('a')));
  EXPECT_FALSE(HasBlob(Cid('a')));
  EXPECT_TRUE(HasBlob(Cid('b')));
}

TEST_F(RetentionTest, LeasedVersionIsKeptThisTime) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(folder, KeepDays(3));
  const int64_t old = Version(folder, "a.txt", 10, {Cid('a')});
  Version(folder, "a.txt", 0, {Cid('b')});
  store_.AddJob(old, /*leased=*/true);
  std::unique_ptr<Retention> r = Make(0);
  pb::PruneResponse out = Prune(*r, false);
  EXPECT_EQ(out.versions_removed(), 0u);
  EXPECT_EQ(out.versions_in_use(), 1u);
  EXPECT_TRUE(store_.HasVersion(old));
  EXPECT_TRUE(HasBlob(Cid('a')));
}

TEST_F(RetentionTest, DeletedFileIsForgottenAfterDeletedKeepDays) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(folder, KeepDays(3));  // deleted_keep_days 7
  const int64_t gone = Version(folder, "gone.txt", 20, {Cid('a')});
  store_.MarkDeleted(gone, kNow - 8 * kDay);
  const int64_t recent = Version(folder, "recent.txt", 20, {Cid('b')});
  store_.MarkDeleted(recent, kNow - 2 * kDay);
  std::unique_ptr<Retention> r = Make(0);
  pb::PruneResponse out = Prune(*r, false);
  EXPECT_EQ(out.files_forgotten(), 1u);
  EXPECT_FALSE(store_.HasVersion(gone));
  EXPECT_EQ(store_.CurrentVersion(folder, "gone.txt"), 0);
  EXPECT_TRUE(store_.HasVersion(recent));
  EXPECT_FALSE(HasBlob(Cid('a')));
  EXPECT_TRUE(HasBlob(Cid('b')));
}

TEST_F(RetentionTest, PassThroughReleasesDeliveredVersionsChunks) {
  const int64_t folder = store_.AddFolder("phone", "/DCIM");
  RetentionPolicy p = KeepDays(30);
  p.pass_through = true;
  store_.SetPolicy(folder, p);
  const int64_t delivered = Version(folder, "img.jpg", 0, {Cid('a')});
  const int64_t waiting = Version(folder, "new.jpg", 0, {Cid('b')});
  store_.MarkDeliveredEverywhere(delivered);
  std::unique_ptr<Retention> r = Make(0);
  pb::PruneResponse dry = Prune(*r, true);
  EXPECT_EQ(dry.versions_released(), 1u);
  EXPECT_EQ(dry.chunks_removed(), 1u);
  EXPECT_EQ(store_.Refcount(Cid('a')), 1);
  pb::PruneResponse out = Prune(*r, false);
  EXPECT_EQ(out.versions_released(), 1u);
  EXPECT_EQ(out.chunks_removed(), 1u);
  EXPECT_TRUE(store_.HasVersion(delivered));  // the version stays, its chunks go
  EXPECT_FALSE(HasBlob(Cid('a')));
  EXPECT_TRUE(HasBlob(Cid('b')));
  EXPECT_TRUE(store_.HasVersion(waiting));
}

TEST_F(RetentionTest, FailedBlobDeleteKeepsTheChunkRowAndIsReported) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  store_.SetPolicy(folder, KeepDays(3));
  Version(folder, "a.txt", 10, {Cid('a')});
  Version(folder, "a.txt", 0, {Cid('b')});
  blobs_.FailDeletes(true);
  std::unique_ptr<Retention> r = Make(0);
  pb::PruneResponse out = Prune(*r, false);
  EXPECT_EQ(out.versions_removed(), 1u);
  EXPECT_EQ(out.chunks_removed(), 0u);
  EXPECT_EQ(out.chunk_errors(), 1u);
  EXPECT_NE(out.first_error().find("deleting chunk"), std::string::npos) << out.first_error();
  EXPECT_TRUE(store_.HasChunk(Cid('a')));
  blobs_.FailDeletes(false);
  EXPECT_EQ(Prune(*r, false).chunks_removed(), 1u);  // the next prune retries it
}

TEST_F(RetentionTest, SetStoresThePolicyAndAuditsIt) {
  const int64_t folder = store_.AddFolder("laptop", "/home");
  std::unique_ptr<Retention> r = Make(0);
  pb::SetRetentionRequest set;
  set.set_device("laptop");
  set.set_keep_all_days(5);
  absl::StatusOr<pb::RetentionPolicies> out = r->Set("alice", set);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->policies_size(), 1);
  EXPECT_EQ(out->policies(0).keep_all_days(), 5u);
  EXPECT_FALSE(out->policies(0).is_default());
  EXPECT_EQ(store_.AllPolicies()->at(folder).keep_all_days, 5u);
  ASSERT_EQ(audit_.RecentAudit(10)->size(), 1u);
  EXPECT_EQ((*audit_.RecentAudit(10))[0].action, "SetRetention");
  EXPECT_EQ((*audit_.RecentAudit(10))[0].actor, "alice");

  pb::GetRetentionRequest get;
  get.set_device("laptop");
  absl::StatusOr<pb::RetentionPolicies> got = r->Get(get);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->policies_size(), 1);
  EXPECT_EQ(got->policies(0).keep_all_days(), 5u);
}

TEST_F(RetentionTest, GetOfAnUnknownDeviceIsNotFound) {
  std::unique_ptr<Retention> r = Make(0);
  pb::GetRetentionRequest get;
  get.set_device("nobody");
  EXPECT_TRUE(absl::IsNotFound(r->Get(get).status()));
}

}  // namespace
}  // namespace shoebox::coordinator
