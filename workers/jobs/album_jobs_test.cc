// Deliver and verify at a photo service (issue 20), against the fake
// service of fake_photo_service_test.h: the PutRequest carries the album
// of the destination's rule, the capture date and (when asked) keywords;
// other kinds keep {album}; two deliveries into one album record it once,
// also from two workers; verify finds an album deleted at the service,
// forgets it, and the re-delivery re-creates it; an item taken out of its
// album is put back; listings are reused within a batch.
#include <atomic>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "workers/jobs/deliver.h"
#include "workers/jobs/fake_photo_service_test.h"
#include "workers/jobs/job_handler.h"
#include "workers/jobs/verify.h"
#include "workers/remote_album_directory.h"

namespace shoebox::worker {
namespace {

using testing::FakePhotoConnector;
using testing::FakePhotoService;

constexpr int64_t kMtimeNs = 1720000000ll * 1000000000ll;  // 2024-07-03 09:46:40 UTC
constexpr char kPhotoKind[] = "photo-test";

bool PhotoKind(const std::string& kind) { return kind == kPhotoKind; }

class MapFetcher final : public ChunkFetcher {
 public:
  void Add(const std::string& id, std::string data) { chunks_[id] = std::move(data); }
  absl::StatusOr<std::string> GetPlain(const ChunkId& id) override {
    auto it = chunks_.find(DigestToString(id));
    if (it == chunks_.end()) return absl::NotFoundError("no such chunk");
    return it->second;
  }

 private:
  std::map<std::string, std::string> chunks_;
};

// The coordinator's album calls, first writer wins (as album_store.h).
class FakeAlbumCalls final : public AlbumClient {
 public:
  absl::StatusOr<std::optional<std::string>> Lookup(const AlbumLease& lease,
                                                    const std::string& key) override {
    absl::MutexLock l(&mu_);
    auto it = rows_.find({lease.destination_id, key});
    if (it == rows_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::StatusOr<std::string> Record(const AlbumLease& lease, const std::string& key,
                                     const std::string& id) override {
    absl::MutexLock l(&mu_);
    ++records;
    return rows_.try_emplace({lease.destination_id, key}, id).first->second;
  }
  absl::Status Forget(const AlbumLease& lease, const std::string& key,
                      const std::string& expected) override {
    absl::MutexLock l(&mu_);
    ++forgets;
    auto it = rows_.find({lease.destination_id, key});
    if (it != rows_.end() && (expected.empty() || it->second == expected)) rows_.erase(it);
    return absl::OkStatus();
  }
  size_t rows() {
    absl::MutexLock l(&mu_);
    return rows_.size();
  }
  int records = 0, forgets = 0;

 private:
  absl::Mutex mu_;
  std::map<std::pair<int64_t, std::string>, std::string> rows_;
};

// One worker process: its job environment, with the coordinator-backed
// album directory and a cache of its own.
struct TestWorker {
  TestWorker(FakePhotoService* service, FakeAlbumCalls* calls, ChunkFetcher* chunks) {
    env.worker_name = "w";
    env.chunks = chunks;
    env.open_destination_with_env =
        [service](const v1::Destination&,
                  const ConnectorEnvironment& e) -> absl::StatusOr<std::unique_ptr<Connector>> {
      return std::unique_ptr<Connector>(new FakePhotoConnector(service, e.albums));
    };
    env.album_directory = [this, calls](const v1::Job& job) {
      return MakeRemoteAlbumDirectory(
          calls, AlbumLease{job.job_id(), job.lease_token(), job.destination().id()}, &cache);
    };
  }
  absl::StatusOr<v1::CompleteJobRequest> Run(JobHandler* handler, const v1::Job& job) {
    std::atomic<bool> cancelled{false};
    JobContext ctx(env, job, &cancelled);
    return handler->Run(job, ctx);
  }
  JobEnvironment env;
  AlbumCache cache;
};

class AlbumJobsTest : public ::testing::Test {
 protected:
  v1::Job Job(v1::JobKind kind, const std::string& path, const std::string& content,
              const nlohmann::json& settings = nlohmann::json::object(),
              const std::string& dest_kind = kPhotoKind, const std::string& layout = "{path}") {
    v1::Job job;
    job.set_job_id(++next_job_);
    job.set_kind(kind);
    job.set_lease_token("lease");
    v1::Destination* d = job.mutable_destination();
    d->set_id(5);
    d->set_name("photos");
    d->set_kind(dest_kind);
    d->set_settings_json(settings.dump());
    d->set_layout(layout);
    v1::FileVersion* f = job.mutable_file();
    f->set_version_id(next_job_);
    f->set_device("cam");
    f->set_folder("/storage/DCIM");
    f->set_path(path);
    f->set_size(content.size());
    f->set_mtime_ns(kMtimeNs);
    f->set_sha256(DigestToString(Sha256::Of(content)));
    const std::string id = DigestToString(Sha256::Of(content));
    v1::ChunkRef* c = f->add_chunks();
    c->set_id(id);
    c->set_size(static_cast<uint32_t>(content.size()));
    fetcher_.Add(id, content);
    return job;
  }

  FakePhotoService service_;
  FakeAlbumCalls calls_;
  MapFetcher fetcher_;
  TestWorker worker_{&service_, &calls_, &fetcher_};
  DeliverHandler deliver_{PhotoKind};
  VerifyHandler verify_{PhotoKind};
  int64_t next_job_ = 100;
};

TEST_F(AlbumJobsTest, DeliverSendsAlbumCaptureDateAndKeywords) {
  auto r = worker_.Run(
      &deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/2023/IMG_1.jpg", "one", {{"keywords", true}}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(service_.puts.size(), 1u);
  const PutRequest& req = service_.puts[0];
  EXPECT_EQ(req.album, "Camera 2023");
  EXPECT_EQ(req.capture_date, "2024-07-03 09:46:40");  // no EXIF in "one": the mtime
  EXPECT_EQ(req.keywords, (std::vector<std::string>{"Camera", "2023"}));
  ASSERT_EQ(service_.AlbumsTitled("Camera 2023").size(), 1u);
  EXPECT_EQ(service_.album_items[service_.AlbumsTitled("Camera 2023")[0]].count(req.remote_path),
            1u);
}

// Issue 21: a version with albums of its own (a Takeout album folder) goes
// into its first album under the rule "folder", not its folder's; a
// template rule ignores them; the source's capture date wins over the
// mtime (and EXIF) for the date sent and for {year}/{month} in a layout.
TEST_F(AlbumJobsTest, VersionAlbumsAndTheSourcesCaptureDateWin) {
  v1::Job job = Job(v1::JOB_KIND_DELIVER, "Google Photos/Photos from 2019/IMG_1.jpg", "t1");
  job.add_albums("Summer trip");
  job.add_albums("Zoo");
  job.set_capture_unix_ns(1562265001ll * 1000000000);  // 2019-07-04 18:30:01 UTC
  ASSERT_TRUE(worker_.Run(&deliver_, job).ok());
  v1::Job templ = Job(v1::JOB_KIND_DELIVER, "Google Photos/Photos from 2019/IMG_2.jpg", "t2",
                      {{"albums", "{year}"}});
  templ.add_albums("Summer trip");
  templ.set_capture_unix_ns(1562265001ll * 1000000000);
  ASSERT_TRUE(worker_.Run(&deliver_, templ).ok());
  v1::Job file = Job(v1::JOB_KIND_DELIVER, "Google Photos/Photos from 2019/IMG_3.jpg", "t3",
                     nlohmann::json::object(), "local-test", "{year}/{month}/{name}");
  file.add_albums("Summer trip");
  file.set_capture_unix_ns(1562265001ll * 1000000000);
  ASSERT_TRUE(worker_.Run(&deliver_, file).ok());
  ASSERT_EQ(service_.puts.size(), 3u);
  EXPECT_EQ(service_.puts[0].album, "Summer trip");
  EXPECT_EQ(service_.puts[0].capture_date, "2019-07-04 18:30:01");
  EXPECT_EQ(service_.puts[1].album, "2019");  // the template, with the source's year
  EXPECT_EQ(service_.puts[2].remote_path, "2019/07/IMG_3.jpg");  // placed once, by the layout
}

TEST_F(AlbumJobsTest, KeywordsOnlyWhenAskedAndTheRuleDecidesTheAlbum) {
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", "a")).ok());
  ASSERT_TRUE(
      worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/b.jpg", "b", {{"albums", "none"}}))
          .ok());
  ASSERT_TRUE(worker_
                  .Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Trips/c.jpg", "c",
                                      {{"albums", "{device} {year}-{month}"}}))
                  .ok());
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "top.jpg", "d")).ok());
  ASSERT_EQ(service_.puts.size(), 4u);
  EXPECT_EQ(service_.puts[0].album, "Camera");
  EXPECT_TRUE(service_.puts[0].keywords.empty());
  EXPECT_EQ(service_.puts[1].album, "");
  EXPECT_EQ(service_.puts[2].album, "cam 2024-07");
  EXPECT_EQ(service_.puts[3].album, "DCIM");  // the top of the root: the root's name
  EXPECT_EQ(service_.albums_created, 3);
}

TEST_F(AlbumJobsTest, ABadRuleStoredEarlierFailsNamingTheDestination) {
  auto r = worker_.Run(&deliver_,
                       Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", "a", {{"albums", "{album}"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_NE(r.status().message().find("destination 'photos'"), std::string_view::npos)
      << r.status();
  EXPECT_TRUE(service_.puts.empty());
}

TEST_F(AlbumJobsTest, OtherKindsKeepTheAlbumTokenAndSendNoPhotoFields) {
  auto r = worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Trips/Rome/IMG_1.jpg", "x",
                                      {{"keywords", true}}, "local-test", "{album}/{name}"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(service_.puts.size(), 1u);
  EXPECT_EQ(service_.puts[0].album, "Rome");  // AlbumFor: the last folder
  EXPECT_EQ(service_.puts[0].capture_date, "");
  EXPECT_TRUE(service_.puts[0].keywords.empty());
  EXPECT_EQ(service_.puts[0].remote_path, "Rome/IMG_1.jpg");
}

TEST_F(AlbumJobsTest, TwoDeliveriesOfOneAlbumShareOneRecord) {
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/2023/a.jpg", "a")).ok());
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/2023/b.jpg", "b")).ok());
  // A second worker process (its own cache) delivers into the same album.
  TestWorker other(&service_, &calls_, &fetcher_);
  ASSERT_TRUE(other.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/2023/c.jpg", "c")).ok());
  EXPECT_EQ(calls_.records, 1);
  EXPECT_EQ(service_.albums_created, 1);
  ASSERT_EQ(service_.AlbumsTitled("Camera 2023").size(), 1u);
  EXPECT_EQ(service_.album_items[service_.AlbumsTitled("Camera 2023")[0]].size(), 3u);
}

TEST_F(AlbumJobsTest, AlreadyThereAndInItsAlbumUploadsNothing) {
  const v1::Job job = Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", "a");
  ASSERT_TRUE(worker_.Run(&deliver_, job).ok());
  auto again = worker_.Run(&deliver_, job);  // a retried job
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(service_.puts.size(), 1u);
  EXPECT_EQ(again->remote_ref(), "item:Camera/a.jpg");
}

TEST_F(AlbumJobsTest, VerifyFindsTheAlbumGoneAndTheRedeliveryRecreatesIt) {
  const std::string content = "photo bytes";
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", content)).ok());
  auto ok = worker_.Run(&verify_, Job(v1::JOB_KIND_VERIFY, "Camera/a.jpg", content));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->verified_ok()) << ok->remote_ref();
  // Someone deletes the album at the service. A later verify run (a new
  // handler: listings are reused for a minute only) finds it gone.
  const std::string old_id = service_.AlbumsTitled("Camera").at(0);
  service_.DeleteAlbum(old_id);
  VerifyHandler later(PhotoKind);
  auto gone = worker_.Run(&later, Job(v1::JOB_KIND_VERIFY, "Camera/a.jpg", content));
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->verified_ok());
  EXPECT_TRUE(absl::StartsWith(gone->remote_ref(), "missing: album Camera")) << gone->remote_ref();
  EXPECT_EQ(calls_.rows(), 0u);  // forgotten at the coordinator
  EXPECT_EQ(calls_.forgets, 1);
  // The coordinator re-delivers: the item is there, its album is not.
  auto again = worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", content));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(service_.puts.size(), 2u);
  ASSERT_EQ(service_.AlbumsTitled("Camera").size(), 1u);
  EXPECT_NE(service_.AlbumsTitled("Camera")[0], old_id);
  auto healed = worker_.Run(&later, Job(v1::JOB_KIND_VERIFY, "Camera/a.jpg", content));
  ASSERT_TRUE(healed.ok()) << healed.status();
  EXPECT_TRUE(healed->verified_ok()) << healed->remote_ref();
}

TEST_F(AlbumJobsTest, AnItemTakenOutOfItsAlbumIsPutBack) {
  const std::string content = "photo bytes 2";
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", content)).ok());
  const std::string id = service_.AlbumsTitled("Camera").at(0);
  service_.album_items[id].clear();
  auto lacks = worker_.Run(&verify_, Job(v1::JOB_KIND_VERIFY, "Camera/a.jpg", content));
  ASSERT_TRUE(lacks.ok()) << lacks.status();
  EXPECT_FALSE(lacks->verified_ok());
  EXPECT_TRUE(absl::StrContains(lacks->remote_ref(), "is not in album Camera"))
      << lacks->remote_ref();
  EXPECT_EQ(calls_.forgets, 0);  // the album is still there
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", content)).ok());
  EXPECT_EQ(service_.album_items[id].count("Camera/a.jpg"), 1u);
  EXPECT_EQ(service_.albums_created, 1);
}

TEST_F(AlbumJobsTest, VerifyReadsNoChunkUnlessTheRuleNeedsTheDate) {
  // A verify that repairs a damaged first chunk must not need that chunk
  // for the album (docs/verify.md): with the folder rule it reads none.
  const std::string content = "photo bytes 3";
  ASSERT_TRUE(worker_.Run(&deliver_, Job(v1::JOB_KIND_DELIVER, "Camera/a.jpg", content)).ok());
  MapFetcher no_chunks;
  TestWorker blind(&service_, &calls_, &no_chunks);
  auto v = blind.Run(&verify_, Job(v1::JOB_KIND_VERIFY, "Camera/a.jpg", content));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->verified_ok()) << v->remote_ref();
  // A rule with {year} needs the EXIF date, so the chunk.
  auto dated = blind.Run(&verify_,
                         Job(v1::JOB_KIND_VERIFY, "Camera/a.jpg", content, {{"albums", "{year}"}}));
  EXPECT_TRUE(absl::IsNotFound(dated.status())) << dated.status();
}

TEST_F(AlbumJobsTest, VerifiesOfOneAlbumListItOnce) {
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(worker_
                    .Run(&deliver_, Job(v1::JOB_KIND_DELIVER, std::string("Camera/") + name,
                                        std::string("content ") + name))
                    .ok());
  }
  service_.list_album_calls = 0;
  for (const char* name : {"a", "b", "c"}) {
    auto v = worker_.Run(&verify_, Job(v1::JOB_KIND_VERIFY, std::string("Camera/") + name,
                                       std::string("content ") + name));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->verified_ok()) << v->remote_ref();
  }
  EXPECT_EQ(service_.list_album_calls, 1);
}

}  // namespace
}  // namespace shoebox::worker
