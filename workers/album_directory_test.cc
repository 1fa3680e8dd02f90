// Album directories (issue 20): the in-memory one and the worker's
// coordinator-backed one (remote_album_directory.h) against a fake of the
// coordinator's calls: first writer wins, Record's ABORTED for a lost race,
// the process cache (one call per album), and Forget keeping an album
// another worker re-created.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "workers/album_directory.h"
#include "workers/remote_album_directory.h"

namespace shoebox::worker {
namespace {

TEST(InMemoryAlbumDirectory, FirstWriterWins) {
  std::shared_ptr<AlbumDirectory> d = MakeInMemoryAlbumDirectory();
  EXPECT_TRUE(absl::IsNotFound(d->Lookup("Camera 2023").status()));
  EXPECT_EQ(*d->RecordFirst("Camera 2023", "set-1"), "set-1");
  EXPECT_EQ(*d->RecordFirst("Camera 2023", "set-2"), "set-1");
  EXPECT_TRUE(d->Record("Camera 2023", "set-1").ok());  // the same id: fine
  absl::Status lost = d->Record("Camera 2023", "set-2");
  EXPECT_TRUE(absl::IsAborted(lost)) << lost;  // retryable, not silent
  EXPECT_NE(lost.message().find("set-1"), std::string_view::npos) << lost;
  EXPECT_EQ(*d->Lookup("Camera 2023"), "set-1");
  EXPECT_TRUE(d->Forget("Camera 2023").ok());
  EXPECT_TRUE(d->Forget("Camera 2023").ok());  // missing: not an error
  EXPECT_TRUE(d->Record("Camera 2023", "set-2").ok());
  EXPECT_EQ(*d->Lookup("Camera 2023"), "set-2");
}

// The coordinator's side, as album_store.h defines it, counting calls.
class FakeCoordinator final : public AlbumClient {
 public:
  absl::StatusOr<std::optional<std::string>> Lookup(const AlbumLease& lease,
                                                    const std::string& key) override {
    absl::MutexLock l(&mu_);
    ++lookups;
    last_lease = lease;
    auto it = rows.find({lease.destination_id, key});
    if (it == rows.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::StatusOr<std::string> Record(const AlbumLease& lease, const std::string& key,
                                     const std::string& remote_id) override {
    absl::MutexLock l(&mu_);
    ++records;
    return rows.try_emplace({lease.destination_id, key}, remote_id).first->second;
  }
  absl::Status Forget(const AlbumLease& lease, const std::string& key,
                      const std::string& expected_id) override {
    absl::MutexLock l(&mu_);
    ++forgets;
    auto it = rows.find({lease.destination_id, key});
    if (it != rows.end() && (expected_id.empty() || it->second == expected_id)) rows.erase(it);
    return absl::OkStatus();
  }

  absl::Mutex mu_;
  std::map<std::pair<int64_t, std::string>, std::string> rows;
  int lookups = 0, records = 0, forgets = 0;
  AlbumLease last_lease;
};

TEST(RemoteAlbumDirectory, AsksOncePerAlbumAndSendsTheJobsLease) {
  FakeCoordinator coord;
  AlbumCache cache;
  auto d = MakeRemoteAlbumDirectory(&coord, AlbumLease{42, "tok", 7}, &cache);
  EXPECT_TRUE(absl::IsNotFound(d->Lookup("Camera").status()));
  EXPECT_TRUE(absl::IsNotFound(d->Lookup("Camera").status()));  // unknown keys are not cached
  EXPECT_EQ(coord.lookups, 2);
  EXPECT_EQ(coord.last_lease.job_id, 42);
  EXPECT_EQ(coord.last_lease.lease_token, "tok");
  EXPECT_EQ(coord.last_lease.destination_id, 7);
  EXPECT_EQ(*d->RecordFirst("Camera", "set-1"), "set-1");
  // Another job of the same destination in this process: no call.
  auto d2 = MakeRemoteAlbumDirectory(&coord, AlbumLease{43, "tok2", 7}, &cache);
  EXPECT_EQ(*d2->Lookup("Camera"), "set-1");
  EXPECT_EQ(*d->Lookup("Camera"), "set-1");
  EXPECT_EQ(coord.lookups, 2);
  // Another destination has its own albums.
  auto other = MakeRemoteAlbumDirectory(&coord, AlbumLease{44, "tok3", 8}, &cache);
  EXPECT_TRUE(absl::IsNotFound(other->Lookup("Camera").status()));
}

TEST(RemoteAlbumDirectory, TwoWorkersCreatingOneAlbumUseTheFirstId) {
  FakeCoordinator coord;
  AlbumCache cache1, cache2;  // two worker processes
  auto w1 = MakeRemoteAlbumDirectory(&coord, AlbumLease{1, "a", 7}, &cache1);
  auto w2 = MakeRemoteAlbumDirectory(&coord, AlbumLease{2, "b", 7}, &cache2);
  // Both found nothing and created an album at the service.
  EXPECT_TRUE(absl::IsNotFound(w1->Lookup("Camera").status()));
  EXPECT_TRUE(absl::IsNotFound(w2->Lookup("Camera").status()));
  EXPECT_EQ(*w1->RecordFirst("Camera", "set-1"), "set-1");
  EXPECT_EQ(*w2->RecordFirst("Camera", "set-2"), "set-1");  // w2 uses set-1
  EXPECT_EQ(*w2->Lookup("Camera"), "set-1");                // and caches it
  EXPECT_TRUE(absl::IsAborted(w2->Record("Camera", "set-3")));
  EXPECT_EQ(coord.rows.at({7, "Camera"}), "set-1");
}

TEST(RemoteAlbumDirectory, ForgetKeepsAnAlbumAnotherWorkerRecreated) {
  FakeCoordinator coord;
  AlbumCache cache1, cache2;
  auto w1 = MakeRemoteAlbumDirectory(&coord, AlbumLease{1, "a", 7}, &cache1);
  auto w2 = MakeRemoteAlbumDirectory(&coord, AlbumLease{2, "b", 7}, &cache2);
  ASSERT_EQ(*w1->RecordFirst("Camera", "set-1"), "set-1");
  ASSERT_EQ(*w2->Lookup("Camera"), "set-1");  // w2 caches set-1
  // w1 finds set-1 deleted at the service, forgets it and re-creates it.
  ASSERT_TRUE(w1->Forget("Camera").ok());
  EXPECT_TRUE(coord.rows.empty());
  ASSERT_EQ(*w1->RecordFirst("Camera", "set-9"), "set-9");
  // w2's stale view (set-1) finds its album gone too: its Forget drops
  // nothing at the coordinator, and its next Lookup finds set-9.
  ASSERT_TRUE(w2->Forget("Camera").ok());
  EXPECT_EQ(coord.rows.at({7, "Camera"}), "set-9");
  EXPECT_EQ(*w2->Lookup("Camera"), "set-9");
}

}  // namespace
}  // namespace shoebox::worker
