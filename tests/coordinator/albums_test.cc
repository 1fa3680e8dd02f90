// Issue 20 against a real PostgreSQL and an in-process coordinator: the
// album directory RPCs (LookupAlbum, RecordAlbum, ForgetAlbum) are the
// lease holder's only, first writer wins also between concurrent calls,
// keys and ids are kept byte for byte, a stale Forget keeps a re-created
// album, and the rows stay with a removed destination's history (which no
// worker can reach any more). Worker side, over the real RPCs: two workers
// deliver photos of one folder through the fake photo service
// (workers/jobs/fake_photo_service_test.h) and the album is recorded once.
// And a photo the service refuses for good is counted dead in `shoebox
// status` with its reason, the destination not held.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/data_gen.h"
#include "tests/support/device_upload.h"
#include "workers/coordinator_client.h"
#include "workers/jobs/deliver.h"
#include "workers/jobs/fake_photo_service_test.h"
#include "workers/jobs/job_handler.h"
#include "workers/remote_album_directory.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;

const std::string kFolder = "/home/ana/Pictures";

class MapFetcher final : public worker::ChunkFetcher {
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

class AlbumsTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    StartHarness();
    ASSERT_NE(harness_, nullptr);
    agent_ = pb::AgentService::NewStub(channel());
    worker_ = pb::WorkerService::NewStub(channel());
    admin_ = pb::AdminService::NewStub(channel());
    grpc::ClientContext ctx;
    AsDevice(&ctx, "laptop");
    pb::HelloRequest req;
    req.set_hostname("laptop.lan");
    req.add_folders(kFolder);
    ASSERT_TRUE(agent_->Hello(&ctx, req, &hello_).ok());
    grpc::ClientContext dctx;
    AsAdmin(&dctx);
    pb::CreateDestinationRequest d;
    d.set_name("photos");
    d.set_kind("local");
    d.set_settings_json(R"({"root":"/srv/backup"})");
    d.set_layout("{path}");
    pb::Destination made;
    grpc::Status st = admin_->CreateDestination(&dctx, d, &made);
    ASSERT_TRUE(st.ok()) << st.error_message();
    dest_id_ = made.id();
    grpc::ClientContext bctx;
    AsAdmin(&bctx);
    pb::BindFolderRequest b;
    b.set_device("laptop");
    b.set_destination("photos");
    pb::BindFolderResponse br;
    st = admin_->BindFolder(&bctx, b, &br);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const char* w : {"w1", "w2"}) {
      grpc::ClientContext rctx;
      AsWorker(&rctx, w);
      pb::RegisterWorkerRequest r;
      r.add_kinds("local");
      r.set_max_concurrency(4);
      pb::RegisterWorkerResponse rr;
      st = worker_->RegisterWorker(&rctx, r, &rr);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }

  // The laptop backs up `data` at `path` (64 KiB chunks, kept in fetcher_).
  void StoreFile(const std::string& path, const std::string& data) {
    auto chunks = testsupport::CutChunks(data, hello_.chunk_id_key());
    for (const auto& c : chunks) fetcher_.Add(c.id, c.data);
    absl::Status st = testsupport::BackUpFile(
        *agent_, "laptop", testsupport::UpsertReport(kFolder, path, data, chunks), chunks);
    ASSERT_TRUE(st.ok()) << st;
  }

  std::vector<pb::Job> Lease(const std::string& worker, uint32_t max_jobs = 1) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::LeaseJobsRequest req;
    req.set_max_jobs(max_jobs);
    pb::LeaseJobsResponse resp;
    grpc::Status st = worker_->LeaseJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.jobs().begin(), resp.jobs().end()};
  }

  template <typename Req>
  Req For(const pb::Job& job, const std::string& key) {
    Req r;
    r.set_job_id(job.job_id());
    r.set_lease_token(job.lease_token());
    r.set_destination_id(job.destination().id());
    r.set_album_key(key);
    return r;
  }
  grpc::Status Lookup(const std::string& worker, const pb::Job& job, const std::string& key,
                      pb::LookupAlbumResponse* resp) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    return worker_->LookupAlbum(&ctx, For<pb::LookupAlbumRequest>(job, key), resp);
  }
  grpc::Status Record(const std::string& worker, const pb::Job& job, const std::string& key,
                      const std::string& id, pb::RecordAlbumResponse* resp) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::RecordAlbumRequest r = For<pb::RecordAlbumRequest>(job, key);
    r.set_remote_id(id);
    return worker_->RecordAlbum(&ctx, r, resp);
  }
  grpc::Status Forget(const std::string& worker, const pb::Job& job, const std::string& key,
                      const std::string& expected, pb::ForgetAlbumResponse* resp) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::ForgetAlbumRequest r = For<pb::ForgetAlbumRequest>(job, key);
    r.set_remote_id(expected);
    return worker_->ForgetAlbum(&ctx, r, resp);
  }
  std::string Sql(const std::string& q) {
    absl::StatusOr<std::string> out = pg()->Query(q, db_);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : "";
  }

  pb::StatusResponse Status() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::StatusResponse resp;
    EXPECT_TRUE(admin_->GetStatus(&ctx, pb::GetStatusRequest(), &resp).ok());
    return resp;
  }

  pb::HelloResponse hello_;
  int64_t dest_id_ = 0;
  MapFetcher fetcher_;
  std::unique_ptr<pb::AgentService::Stub> agent_;
  std::unique_ptr<pb::WorkerService::Stub> worker_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
};

TEST_F(AlbumsTest, OnlyTheLeaseHolderUsesTheDirectoryAndTheFirstIdWins) {
  StoreFile("Camera/2023/a.jpg", "photo a");
  std::vector<pb::Job> jobs = Lease("w1");
  ASSERT_EQ(jobs.size(), 1u);
  const pb::Job& job = jobs[0];
  ASSERT_EQ(job.destination().id(), dest_id_);

  pb::LookupAlbumResponse look;
  grpc::Status st = Lookup("w1", job, "Camera 2023", &look);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(look.found());
  pb::RecordAlbumResponse rec;
  st = Record("w1", job, "Camera 2023", "set-1", &rec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(rec.recorded());
  EXPECT_EQ(rec.remote_id(), "set-1");
  // The second writer gets the first's id.
  st = Record("w1", job, "Camera 2023", "set-2", &rec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(rec.recorded());
  EXPECT_EQ(rec.remote_id(), "set-1");
  ASSERT_TRUE(Lookup("w1", job, "Camera 2023", &look).ok());
  EXPECT_TRUE(look.found());
  EXPECT_EQ(look.remote_id(), "set-1");

  // Another worker with the holder's job ID and token, and the holder
  // naming another destination, are refused.
  st = Lookup("w2", job, "Camera 2023", &look);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  st = Record("w2", job, "Camera 2023", "set-evil", &rec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  pb::Job elsewhere = job;
  elsewhere.mutable_destination()->set_id(dest_id_ + 1000);
  st = Lookup("w1", elsewhere, "Camera 2023", &look);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  pb::ForgetAlbumResponse fr;
  st = Forget("w2", job, "Camera 2023", "", &fr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Sql("SELECT encode(remote_id, 'escape') FROM destination_albums"), "set-1\n");

  // A stale Forget keeps the row; one with its id drops it.
  ASSERT_TRUE(Forget("w1", job, "Camera 2023", "set-0", &fr).ok());
  EXPECT_FALSE(fr.forgotten());
  ASSERT_TRUE(Forget("w1", job, "Camera 2023", "set-1", &fr).ok());
  EXPECT_TRUE(fr.forgotten());
  ASSERT_TRUE(Lookup("w1", job, "Camera 2023", &look).ok());
  EXPECT_FALSE(look.found());

  // Validation: an empty key, a key over 1,024 bytes.
  st = Lookup("w1", job, "", &look);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  st = Lookup("w1", job, std::string(1025, 'k'), &look);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Once the job is complete the lease is gone, and so is the access.
  grpc::ClientContext cctx;
  AsWorker(&cctx, "w1");
  pb::CompleteJobRequest done;
  done.set_job_id(job.job_id());
  done.set_lease_token(job.lease_token());
  done.set_remote_ref("Camera/2023/a.jpg");
  pb::CompleteJobResponse cr;
  ASSERT_TRUE(worker_->CompleteJob(&cctx, done, &cr).ok());
  st = Record("w1", job, "Camera 2023", "set-3", &rec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AlbumsTest, KeysAndIdsAreBytes) {
  StoreFile("x.jpg", "x");
  std::vector<pb::Job> jobs = Lease("w1");
  ASSERT_EQ(jobs.size(), 1u);
  const std::string latin1("Ferien \xe9t\xe9", 10);
  const std::string with_nul("a\0b", 3);
  const std::string id_bytes("\x00\xff id", 5);
  pb::RecordAlbumResponse rec;
  ASSERT_TRUE(Record("w1", jobs[0], latin1, id_bytes, &rec).ok());
  ASSERT_TRUE(Record("w1", jobs[0], with_nul, "nul", &rec).ok());
  ASSERT_TRUE(Record("w1", jobs[0], std::string(1024, 'k'), std::string(1024, 'i'), &rec).ok());
  pb::LookupAlbumResponse look;
  ASSERT_TRUE(Lookup("w1", jobs[0], latin1, &look).ok());
  EXPECT_EQ(look.remote_id(), id_bytes);
  ASSERT_TRUE(Lookup("w1", jobs[0], with_nul, &look).ok());
  EXPECT_EQ(look.remote_id(), "nul");
  ASSERT_TRUE(Lookup("w1", jobs[0], "a", &look).ok());
  EXPECT_FALSE(look.found());  // not cut at the NUL
  EXPECT_EQ(Sql("SELECT count(*) FROM destination_albums"), "3\n");
}

TEST_F(AlbumsTest, ConcurrentRecordsOfOneKeyKeepOneId) {
  StoreFile("a.jpg", "a");
  StoreFile("b.jpg", "b");
  std::vector<pb::Job> j1 = Lease("w1");
  std::vector<pb::Job> j2 = Lease("w2");
  ASSERT_EQ(j1.size(), 1u);
  ASSERT_EQ(j2.size(), 1u);
  for (int round = 0; round < 5; ++round) {
    const std::string key = absl::StrCat("Album ", round);
    constexpr int kThreads = 8;
    std::vector<pb::RecordAlbumResponse> got(kThreads);
    std::vector<grpc::Status> sts(kThreads);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        while (!go) std::this_thread::yield();
        const bool first = i % 2 == 0;
        sts[i] = Record(first ? "w1" : "w2", first ? j1[0] : j2[0], key,
                        absl::StrCat("id-", round, "-", i), &got[i]);
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    std::set<std::string> ids;
    int recorded = 0;
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(sts[i].ok()) << sts[i].error_message();
      ids.insert(got[i].remote_id());
      recorded += got[i].recorded() ? 1 : 0;
    }
    EXPECT_EQ(ids.size(), 1u) << key;
    EXPECT_EQ(recorded, 1) << key;
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM destination_albums"), "5\n");
}

TEST_F(AlbumsTest, TwoWorkersDeliveringOneFolderRecordItsAlbumOnce) {
  StoreFile("Camera/2023/a.jpg", "photo a");
  StoreFile("Camera/2023/b.jpg", "photo b");
  std::vector<pb::Job> j1 = Lease("w1");
  std::vector<pb::Job> j2 = Lease("w2");
  ASSERT_EQ(j1.size(), 1u);
  ASSERT_EQ(j2.size(), 1u);
  worker::testing::FakePhotoService service;
  // "local" stands in for a photo kind here: the job logic is the same.
  worker::DeliverHandler deliver([](const std::string&) { return true; });
  auto run = [&](const std::string& name, const pb::Job& job) {
    std::unique_ptr<worker::AlbumClient> calls =
        worker::MakeCoordinatorAlbumClient(channel(), name, true, absl::Seconds(10));
    worker::AlbumCache cache;  // one worker process each
    worker::JobEnvironment env;
    env.worker_name = name;
    env.chunks = &fetcher_;
    env.open_destination_with_env = [&service](const pb::Destination&,
                                               const worker::ConnectorEnvironment& e)
        -> absl::StatusOr<std::unique_ptr<worker::Connector>> {
      return std::unique_ptr<worker::Connector>(
          new worker::testing::FakePhotoConnector(&service, e.albums));
    };
    env.album_directory = [&](const pb::Job& j) {
      return worker::MakeRemoteAlbumDirectory(
          calls.get(), worker::AlbumLease{j.job_id(), j.lease_token(), j.destination().id()},
          &cache);
    };
    std::atomic<bool> cancelled{false};
    worker::JobContext ctx(env, job, &cancelled);
    return deliver.Run(job, ctx);
  };
  auto r1 = run("w1", j1[0]);
  ASSERT_TRUE(r1.ok()) << r1.status();
  auto r2 = run("w2", j2[0]);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(service.albums_created, 1);
  EXPECT_EQ(service.records, 1);
  ASSERT_EQ(service.AlbumsTitled("Camera 2023").size(), 1u);
  const std::string id = service.AlbumsTitled("Camera 2023")[0];
  EXPECT_EQ(service.album_items[id].size(), 2u);
  EXPECT_EQ(Sql("SELECT encode(album_key, 'escape') || '=' || encode(remote_id, 'escape') "
                "FROM destination_albums"),
            "Camera 2023=" + id + "\n");
}

TEST_F(AlbumsTest, ARemovedDestinationKeepsItsAlbumsAsHistoryOutOfReach) {
  StoreFile("a.jpg", "a");
  std::vector<pb::Job> jobs = Lease("w1");
  ASSERT_EQ(jobs.size(), 1u);
  pb::RecordAlbumResponse rec;
  ASSERT_TRUE(Record("w1", jobs[0], "Camera", "set-1", &rec).ok());
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  pb::RemoveDestinationRequest rm;
  rm.set_name("photos");
  rm.set_force(true);
  pb::RemoveDestinationResponse rr;
  grpc::Status st = admin_->RemoveDestination(&ctx, rm, &rr);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Sql("SELECT count(*) FROM destination_albums"), "1\n");
  pb::LookupAlbumResponse look;
  st = Lookup("w1", jobs[0], "Camera", &look);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  // A destination deleted outright takes its rows along.
  Sql(absl::StrCat("DELETE FROM jobs WHERE destination_id = ", dest_id_));
  Sql(absl::StrCat("DELETE FROM destinations WHERE id = ", dest_id_));
  EXPECT_EQ(Sql("SELECT count(*) FROM destination_albums"), "0\n");
}

TEST_F(AlbumsTest, APhotoTheServiceRefusesIsCountedDeadWithItsReason) {
  StoreFile("a.heic", "refused");
  StoreFile("b.jpg", "fine");
  std::vector<pb::Job> jobs = Lease("w1");
  ASSERT_EQ(jobs.size(), 1u);
  grpc::ClientContext ctx;
  AsWorker(&ctx, "w1");
  pb::FailJobRequest f;
  f.set_job_id(jobs[0].job_id());
  f.set_lease_token(jobs[0].lease_token());
  f.set_retryable(false);  // FAILED_PRECONDITION: ClassifyForRetry says permanent
  f.set_error("fake photo service refuses a.heic: unsupported format (HTTP 400)");
  pb::FailJobResponse fr;
  grpc::Status st = worker_->FailJob(&ctx, f, &fr);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(fr.state(), pb::JOB_STATE_DEAD);
  pb::StatusResponse s = Status();
  ASSERT_EQ(s.destinations_size(), 1);
  EXPECT_EQ(s.destinations(0).deliveries().dead_files(), 1u);
  EXPECT_TRUE(s.destinations(0).health().empty()) << s.destinations(0).health();
  bool problem = false;
  for (const auto& p : s.problems()) {
    if (p.kind() == "destination_dead") {
      problem = true;
      EXPECT_TRUE(absl::StrContains(p.message(), "unsupported format")) << p.message();
    }
  }
  EXPECT_TRUE(problem);
  // The destination goes on: the other photo is leased.
  std::vector<pb::Job> next = Lease("w2");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].job_id(), jobs[0].job_id());
}

}  // namespace
}  // namespace shoebox
