// Issue 23: batched job completions (WorkerService.CompleteJobs) against a
// real PostgreSQL. 200 deliveries are leased and completed in batches of 64;
// each entry is judged as CompleteJob would judge it (a wrong lease fails
// only its own entry), the jobs end DONE, the status counters count them
// delivered, a batch sent twice changes nothing, and an oversized batch is
// refused as a whole.
#include <map>
#include <string>
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
constexpr int kFiles = 200;
constexpr int kFileSize = 700;

class CompleteJobsTest : public testsupport::CoordinatorFixture {
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
    pb::CreateDestinationRequest dreq;
    dreq.set_name("nas");
    dreq.set_kind("local");
    dreq.set_settings_json(R"({"root":"/srv/backup"})");
    pb::Destination d;
    grpc::Status st = admin_->CreateDestination(&dctx, dreq, &d);
    ASSERT_TRUE(st.ok()) << st.error_message();
    grpc::ClientContext bctx;
    AsAdmin(&bctx);
    pb::BindFolderRequest b;
    b.set_device("laptop");
    b.set_destination("nas");
    pb::BindFolderResponse br;
    st = admin_->BindFolder(&bctx, b, &br);
    ASSERT_TRUE(st.ok()) << st.error_message();

    for (int i = 0; i < kFiles; ++i) {
      const std::string data = testsupport::PseudoRandomBytes(kFileSize, 1000 + i);
      auto chunks = testsupport::CutChunks(data, hello_.chunk_id_key());
      absl::Status up = testsupport::BackUpFile(
          *agent_, "laptop",
          testsupport::UpsertReport(kFolder, "p" + std::to_string(i) + ".jpg", data, chunks),
          chunks);
      ASSERT_TRUE(up.ok()) << up;
    }
    grpc::ClientContext rctx;
    AsWorker(&rctx, "w1");
    pb::RegisterWorkerRequest rreq;
    rreq.add_kinds("local");
    rreq.set_max_concurrency(4);
    pb::RegisterWorkerResponse rresp;
    st = worker_->RegisterWorker(&rctx, rreq, &rresp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  std::vector<pb::Job> LeaseAll() {
    std::vector<pb::Job> all;
    for (int round = 0; round < 1000 && static_cast<int>(all.size()) < kFiles; ++round) {
      grpc::ClientContext ctx;
      AsWorker(&ctx, "w1");
      pb::LeaseJobsRequest req;
      req.set_max_jobs(100);
      pb::LeaseJobsResponse resp;
      grpc::Status st = worker_->LeaseJobs(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok() || resp.jobs_size() == 0) break;
      all.insert(all.end(), resp.jobs().begin(), resp.jobs().end());
    }
    return all;
  }

  grpc::Status Complete(const pb::CompleteJobsRequest& req, pb::CompleteJobsResponse* resp) {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w1");
    return worker_->CompleteJobs(&ctx, req, resp);
  }

  pb::CompleteJobRequest Done(const pb::Job& j) {
    pb::CompleteJobRequest c;
    c.set_job_id(j.job_id());
    c.set_lease_token(j.lease_token());
    c.set_remote_ref("laptop/p" + std::to_string(j.job_id()) + ".jpg");
    c.set_remote_size(kFileSize);
    return c;
  }

  std::map<int64_t, pb::JobState> States() {
    std::map<int64_t, pb::JobState> out;
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::ListJobsRequest req;
    req.set_limit(1000);
    pb::ListJobsResponse resp;
    grpc::Status st = admin_->ListJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (const auto& j : resp.jobs()) out[j.job_id()] = j.state();
    return out;
  }

  pb::Counts Deliveries() {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    pb::StatusResponse resp;
    EXPECT_TRUE(admin_->GetStatus(&ctx, pb::GetStatusRequest(), &resp).ok());
    for (const auto& d : resp.destinations()) {
      if (d.name() == "nas") return d.deliveries();
    }
    ADD_FAILURE() << "no destination nas in the status";
    return pb::Counts();
  }

  pb::HelloResponse hello_;
  std::unique_ptr<pb::AgentService::Stub> agent_;
  std::unique_ptr<pb::WorkerService::Stub> worker_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
};

TEST_F(CompleteJobsTest, TwoHundredJobsInBatchesEachJudgedAlone) {
  std::vector<pb::Job> jobs = LeaseAll();
  ASSERT_EQ(jobs.size(), static_cast<size_t>(kFiles));
  EXPECT_EQ(Deliveries().in_flight_files(), static_cast<uint64_t>(kFiles));

  // The first batch carries job 0 with a wrong lease token (a lost lease):
  // only that entry fails, FAILED_PRECONDITION; the other 63 are done.
  pb::CompleteJobsRequest first;
  for (int i = 0; i < 64; ++i) *first.add_jobs() = Done(jobs[i]);
  first.mutable_jobs(0)->set_lease_token("not-the-lease");
  pb::CompleteJobsResponse resp;
  grpc::Status st = Complete(first, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), 64);
  EXPECT_EQ(resp.results(0).job_id(), jobs[0].job_id());
  EXPECT_EQ(resp.results(0).code(), static_cast<int>(absl::StatusCode::kFailedPrecondition))
      << resp.results(0).message();
  EXPECT_NE(resp.results(0).message().find("lease"), std::string::npos)
      << resp.results(0).message();
  for (int i = 1; i < 64; ++i) {
    EXPECT_EQ(resp.results(i).job_id(), jobs[i].job_id());
    EXPECT_EQ(resp.results(i).code(), 0) << i << ": " << resp.results(i).message();
  }
  std::map<int64_t, pb::JobState> states = States();
  EXPECT_EQ(states[jobs[0].job_id()], pb::JOB_STATE_LEASED) << "its lease was not the one sent";
  for (int i = 1; i < 64; ++i) EXPECT_EQ(states[jobs[i].job_id()], pb::JOB_STATE_DONE) << i;
  pb::Counts c = Deliveries();
  EXPECT_EQ(c.delivered_files(), 63u);
  EXPECT_EQ(c.delivered_bytes(), 63u * kFileSize);
  EXPECT_EQ(c.in_flight_files(), static_cast<uint64_t>(kFiles - 63));

  // The rest (job 0 with its real lease among them) in batches of 64, the
  // last one short; an invalid entry (no lease token) fails alone.
  size_t next = 64;
  bool first_rest = true;
  while (next < jobs.size()) {
    pb::CompleteJobsRequest batch;
    if (first_rest) *batch.add_jobs() = Done(jobs[0]);
    while (batch.jobs_size() < 64 && next < jobs.size()) *batch.add_jobs() = Done(jobs[next++]);
    pb::CompleteJobsResponse r;
    st = Complete(batch, &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(r.results_size(), batch.jobs_size());
    for (const auto& res : r.results()) EXPECT_EQ(res.code(), 0) << res.message();
    first_rest = false;
  }
  states = States();
  for (const pb::Job& j : jobs) EXPECT_EQ(states[j.job_id()], pb::JOB_STATE_DONE) << j.job_id();
  c = Deliveries();
  EXPECT_EQ(c.delivered_files(), static_cast<uint64_t>(kFiles));
  EXPECT_EQ(c.delivered_bytes(), static_cast<uint64_t>(kFiles) * kFileSize);
  EXPECT_EQ(c.in_flight_files(), 0u);
  EXPECT_EQ(c.pending_files(), 0u);

  // Sent again (a retry after a lost answer): every entry OK, nothing moves.
  pb::CompleteJobsRequest again;
  for (int i = 0; i < 64; ++i) *again.add_jobs() = Done(jobs[i]);
  again.mutable_jobs(5)->clear_lease_token();  // invalid: fails alone
  pb::CompleteJobsResponse ar;
  st = Complete(again, &ar);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(ar.results_size(), 64);
  for (int i = 0; i < 64; ++i) {
    if (i == 5) {
      EXPECT_EQ(ar.results(i).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
      EXPECT_NE(ar.results(i).message().find("jobs[5]"), std::string::npos)
          << ar.results(i).message();
    } else {
      EXPECT_EQ(ar.results(i).code(), 0) << i << ": " << ar.results(i).message();
    }
  }
  c = Deliveries();
  EXPECT_EQ(c.delivered_files(), static_cast<uint64_t>(kFiles));

  // Another worker's entries are refused one by one, as CompleteJob would.
  {
    grpc::ClientContext rctx;
    AsWorker(&rctx, "w2");
    pb::RegisterWorkerRequest rreq;
    rreq.add_kinds("local");
    pb::RegisterWorkerResponse rresp;
    ASSERT_TRUE(worker_->RegisterWorker(&rctx, rreq, &rresp).ok());
    grpc::ClientContext ctx;
    AsWorker(&ctx, "w2");
    pb::CompleteJobsRequest other;
    *other.add_jobs() = Done(jobs[7]);
    pb::CompleteJobsResponse orr;
    st = worker_->CompleteJobs(&ctx, other, &orr);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(orr.results_size(), 1);
    EXPECT_EQ(orr.results(0).code(), static_cast<int>(absl::StatusCode::kPermissionDenied))
        << orr.results(0).message();
  }

  // More than 256 in one call: refused as a whole, naming the limit.
  pb::CompleteJobsRequest big;
  for (int i = 0; i < 257; ++i) *big.add_jobs() = Done(jobs[static_cast<size_t>(i) % jobs.size()]);
  pb::CompleteJobsResponse br;
  st = Complete(big, &br);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("256"), std::string::npos) << st.error_message();
}

}  // namespace
}  // namespace shoebox
