// Issue 17 item 2 against a real PostgreSQL: workers act only within the
// scope the admin gave them and on the leases they hold. A worker scoped to
// kind local cannot lease an s3 job; CompleteJob, FailJob and RenewLease of
// a job leased by another worker are refused (the file is not delivered, the
// destination not paused); ReadChunks of a chunk outside the caller's live
// leases is refused. Identities are --insecure-dev metadata (the TLS
// identities are pinned by authz_matrix_test.cc).
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/coordinator_fixture.h"
#include "tests/support/data_gen.h"
#include "tests/support/device_upload.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;

const std::string kFolder = "/home/ana/Pictures";

class WorkerLeaseTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    StartHarness();
    ASSERT_NE(harness_, nullptr);
    agent_ = pb::AgentService::NewStub(channel());
    worker_ = pb::WorkerService::NewStub(channel());
    admin_ = pb::AdminService::NewStub(channel());
    grpc::ClientContext ctx;  // the laptop exists before its folders are bound
    AsDevice(&ctx, "laptop");
    pb::HelloRequest req;
    req.set_hostname("laptop.lan");
    req.add_folders(kFolder);
    ASSERT_TRUE(agent_->Hello(&ctx, req, &hello_).ok());
  }

  void Destination(const std::string& name, const std::string& kind) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::CreateDestinationRequest req;
    req.set_name(name);
    req.set_kind(kind);
    if (kind == "s3") {
      req.set_settings_json(R"({"bucket":"photos"})");
      req.set_sealed_credentials("sealed-box");
    } else {
      req.set_settings_json(R"({"root":"/srv/backup"})");
    }
    pb::Destination d;
    grpc::Status st = admin_->CreateDestination(&ctx, req, &d);
    ASSERT_TRUE(st.ok()) << st.error_message();
    grpc::ClientContext bctx;
    AsAdmin(&bctx);
    pb::BindFolderRequest b;
    b.set_device("laptop");
    b.set_destination(name);
    pb::BindFolderResponse br;
    st = admin_->BindFolder(&bctx, b, &br);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  grpc::Status Scope(const std::string& worker, std::vector<std::string> kinds,
                     std::vector<std::string> dests) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::SetWorkerScopeRequest req;
    req.set_worker(worker);
    for (auto& k : kinds) req.add_kinds(k);
    for (auto& d : dests) req.add_destinations(d);
    pb::SetWorkerScopeResponse resp;
    return admin_->SetWorkerScope(&ctx, req, &resp);
  }

  grpc::Status Register(const std::string& worker, std::vector<std::string> kinds,
                        pb::RegisterWorkerResponse* resp) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::RegisterWorkerRequest req;
    for (auto& k : kinds) req.add_kinds(k);
    req.set_max_concurrency(4);
    return worker_->RegisterWorker(&ctx, req, resp);
  }

  std::vector<pb::Job> Lease(const std::string& worker) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::LeaseJobsRequest req;
    req.set_max_jobs(10);
    pb::LeaseJobsResponse resp;
    grpc::Status st = worker_->LeaseJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.jobs().begin(), resp.jobs().end()};
  }

  // The laptop backs up one file of `size` random bytes in 64 KiB chunks;
  // returns the chunk IDs.
  std::vector<std::string> StoreFile(const std::string& path, size_t size, uint32_t seed) {
    const std::string data = testsupport::PseudoRandomBytes(size, seed);
    auto chunks = testsupport::CutChunks(data, hello_.chunk_id_key());
    absl::Status st = testsupport::BackUpFile(
        *agent_, "laptop", testsupport::UpsertReport(kFolder, path, data, chunks), chunks);
    EXPECT_TRUE(st.ok()) << st;
    std::vector<std::string> ids;
    for (const auto& c : chunks) ids.push_back(c.id);
    return ids;
  }

  // Reads `ids` as `worker`: the status, and the blobs in *got.
  grpc::Status Read(const std::string& worker, const std::vector<std::string>& ids,
                    std::vector<pb::ChunkData>* got) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, worker);
    pb::WorkerReadChunksRequest req;
    for (const auto& id : ids) req.add_ids(id);
    auto reader = worker_->ReadChunks(&ctx, req);
    pb::ChunkData d;
    while (reader->Read(&d)) got->push_back(d);
    return reader->Finish();
  }

  pb::JobInfo Job(int64_t id) {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListJobsResponse resp;
    grpc::Status st = admin_->ListJobs(&ctx, pb::ListJobsRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (const auto& j : resp.jobs()) {
      if (j.job_id() == id) return j;
    }
    ADD_FAILURE() << "no job " << id;
    return pb::JobInfo();
  }

  pb::StatusResponse Status() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::StatusResponse resp;
    EXPECT_TRUE(admin_->GetStatus(&ctx, pb::GetStatusRequest(), &resp).ok());
    return resp;
  }

  pb::HelloResponse hello_;
  std::unique_ptr<pb::AgentService::Stub> agent_;
  std::unique_ptr<pb::WorkerService::Stub> worker_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
};

TEST_F(WorkerLeaseTest, AWorkerScopedToLocalCannotLeaseAnS3Job) {
  Destination("bucket", "s3");
  Destination("nas", "local");
  StoreFile("a.jpg", 1000, 1);  // one delivery to each destination

  ASSERT_TRUE(Scope("w-local", {"local"}, {}).ok());
  pb::RegisterWorkerResponse reg;
  ASSERT_TRUE(Register("w-local", {"s3", "local"}, &reg).ok());
  EXPECT_EQ(std::vector<std::string>(reg.kinds().begin(), reg.kinds().end()),
            std::vector<std::string>{"local"})
      << "what it asked for, cut to its scope";
  auto jobs = Lease("w-local");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].destination().name(), "nas");
  EXPECT_TRUE(Lease("w-local").empty()) << "the s3 job stays queued";

  // Asking only for what it may not serve is refused, naming the scope.
  grpc::Status st = Register("w-local", {"s3"}, &reg);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("shoebox worker scope w-local"), std::string::npos)
      << st.error_message();

  // A scope narrowed after registration applies at the next lease.
  ASSERT_TRUE(Register("w-any", {"s3", "local"}, &reg).ok());
  ASSERT_TRUE(Scope("w-any", {}, {"nas"}).ok());
  EXPECT_TRUE(Lease("w-any").empty()) << "bucket is outside its destinations";
  // Widened by the admin, it serves s3 again.
  ASSERT_TRUE(Scope("w-any", {}, {}).ok());
  jobs = Lease("w-any");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].destination().name(), "bucket");

  // Bad scopes are refused naming the field.
  st = Scope("bad name!", {"local"}, {});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("worker"), std::string::npos);
  st = Scope("w", {""}, {});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WorkerLeaseTest, CompleteFailAndRenewOfAnotherWorkersLeaseAreRefused) {
  Destination("nas", "local");
  StoreFile("a.jpg", 1000, 2);
  pb::RegisterWorkerResponse reg;
  ASSERT_TRUE(Register("w1", {"local"}, &reg).ok());
  ASSERT_TRUE(Register("w2", {"local"}, &reg).ok());
  auto jobs = Lease("w1");
  ASSERT_EQ(jobs.size(), 1u);
  const pb::Job& j = jobs[0];

  // w2 got hold of w1's lease token (a log line, a copied state file).
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w2");
    pb::CompleteJobRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    req.set_remote_ref("made-up");
    pb::CompleteJobResponse resp;
    grpc::Status st = worker_->CompleteJob(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    EXPECT_NE(st.error_message().find("leased to another worker"), std::string::npos);
  }
  EXPECT_EQ(Job(j.job_id()).state(), pb::JOB_STATE_LEASED) << "not delivered";
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w2");
    pb::FailJobRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    req.set_error("401 Unauthorized");
    req.set_auth_failure(true);
    pb::FailJobResponse resp;
    grpc::Status st = worker_->FailJob(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  }
  EXPECT_EQ(Status().destinations(0).health(), "") << "the destination is not paused";
  EXPECT_EQ(Job(j.job_id()).state(), pb::JOB_STATE_LEASED);
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w2");
    pb::RenewLeaseRequest req;
    req.set_job_id(j.job_id());
    req.set_lease_token(j.lease_token());
    pb::RenewLeaseResponse resp;
    EXPECT_EQ(worker_->RenewLease(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // The holder completes it.
  grpc::ClientContext ctx;
  AsWorker(&ctx, "w1");
  pb::CompleteJobRequest req;
  req.set_job_id(j.job_id());
  req.set_lease_token(j.lease_token());
  req.set_remote_ref("nas/a.jpg");
  pb::CompleteJobResponse resp;
  grpc::Status st = worker_->CompleteJob(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Job(j.job_id()).state(), pb::JOB_STATE_DONE);
}

TEST_F(WorkerLeaseTest, ReadChunksOnlyOfTheFilesOfTheCallersLiveLeases) {
  Destination("nas", "local");
  const std::vector<std::string> ids = StoreFile("a.jpg", 100000, 3);  // two chunks
  ASSERT_EQ(ids.size(), 2u);
  pb::RegisterWorkerResponse reg;
  ASSERT_TRUE(Register("w1", {"local"}, &reg).ok());
  ASSERT_TRUE(Register("w2", {"local"}, &reg).ok());
  std::vector<pb::ChunkData> got;
  grpc::Status st = Read("w1", ids, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "no lease yet";
  EXPECT_TRUE(got.empty());

  auto jobs = Lease("w2");
  ASSERT_EQ(jobs.size(), 1u);
  st = Read("w1", ids, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "w2's lease, not w1's";
  EXPECT_TRUE(got.empty());
  st = Read("w2", ids, &got);
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].sealed());

  // A chunk of another file, even with a live lease on this one.
  const std::vector<std::string> other = StoreFile("b.jpg", 1000, 4);
  got.clear();
  st = Read("w2", {ids[0], other[0]}, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find(ToHex(other[0])), std::string::npos) << st.error_message();
  EXPECT_TRUE(got.empty()) << "refused before anything is sent";

  // Done: the lease ends and so does the reading.
  grpc::ClientContext ctx;
  AsWorker(&ctx, "w2");
  pb::CompleteJobRequest req;
  req.set_job_id(jobs[0].job_id());
  req.set_lease_token(jobs[0].lease_token());
  req.set_remote_ref("nas/a.jpg");
  pb::CompleteJobResponse resp;
  ASSERT_TRUE(worker_->CompleteJob(&ctx, req, &resp).ok());
  EXPECT_EQ(Read("w2", ids, &got).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace shoebox
