// Destinations on day two (issue 16) against a real PostgreSQL: removal
// (refused while jobs run unless forced; pending jobs cancelled, history
// kept, name free again), pause, unbind, connection check jobs, and an
// update that lifts an authentication hold. Calls go to the coordinator's
// domain classes (the services only translate).
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator.h"
#include "tests/support/coordinator_fixture.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;

const std::string kFolder = "/home/ana/Pictures";
const std::string kOther = "/home/ana/Videos";

class DestinationsTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    StartHarness();
    pb::HelloRequest hello;
    hello.add_folders(kFolder);
    hello.add_folders(kOther);
    ASSERT_TRUE(c().catalog().Hello("laptop", hello).ok());
    pb::RegisterWorkerRequest reg;
    reg.add_kinds("local");
    ASSERT_TRUE(c().queue().Register("w1", reg).ok());
  }

  coordinator::Coordinator& c() { return harness_->coordinator(); }

  void CreateNas(const std::string& name = "nas") {
    pb::CreateDestinationRequest dest;
    dest.set_name(name);
    dest.set_kind("local");
    dest.set_settings_json(R"({"root":"/srv/nas"})");
    auto d = c().admin().CreateDestination("admin", dest);
    ASSERT_TRUE(d.ok()) << d.status();
  }

  void Bind(const std::string& folder, const std::string& dest = "nas") {
    pb::BindFolderRequest bind;
    bind.set_device("laptop");
    bind.set_folder(folder);
    bind.set_destination(dest);
    ASSERT_TRUE(c().admin().BindFolder("admin", bind).ok());
  }

  // An empty file: complete at once, one delivery per bound destination.
  void Report(const std::string& folder, const std::string& path) {
    pb::ReportFilesRequest report;
    pb::FileReport* f = report.add_files();
    f->set_folder(folder);
    f->set_path(path);
    f->set_op(pb::FileReport::OP_UPSERT);
    f->set_sha256(std::string(32, '\0'));
    auto r = c().catalog().ReportFiles("laptop", report);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::vector<pb::Job> Lease(uint32_t n, uint32_t wait_ms = 2000) {
    pb::LeaseJobsRequest lease;
    lease.set_max_jobs(n);
    lease.set_wait_ms(wait_ms);
    auto jobs = c().queue().Lease("w1", lease);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    if (!jobs.ok()) return {};
    return {jobs->jobs().begin(), jobs->jobs().end()};
  }

  absl::Status Complete(const pb::Job& j, bool ok = true, const std::string& ref = "ref") {
    pb::CompleteJobRequest done;
    done.set_job_id(j.job_id());
    done.set_lease_token(j.lease_token());
    done.set_remote_ref(ref);
    done.set_verified_ok(ok);
    return c().queue().Complete("w1", done);
  }

  std::vector<pb::JobInfo> Jobs() {
    auto r = c().admin().ListJobs(pb::ListJobsRequest());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::vector<pb::JobInfo>(r->jobs().begin(), r->jobs().end())
                  : std::vector<pb::JobInfo>{};
  }
};

TEST_F(DestinationsTest, RemoveCancelsPendingKeepsHistoryAndFreesTheName) {
  CreateNas();
  Bind("");
  Report(kFolder, "a.jpg");
  Report(kFolder, "b.jpg");
  Report(kFolder, "c.jpg");
  std::vector<pb::Job> first = Lease(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(Complete(first[0]).ok());
  std::vector<pb::Job> running = Lease(1);
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(c().admin().GetStatus()->files_with_2_copies(), 1u);  // chunk store + nas

  pb::RemoveDestinationRequest rm;
  rm.set_name("nas");
  auto refused = c().admin().RemoveDestination("admin", rm);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("--force"), std::string::npos);

  rm.set_force(true);
  auto removed = c().admin().RemoveDestination("admin", rm);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->jobs_cancelled(), 2u);  // one queued, one running
  EXPECT_EQ(removed->bindings_removed(), 1u);
  EXPECT_EQ(removed->delivered_copies(), 1u);
  EXPECT_FALSE(removed->purged());

  // The running job is told to stop.
  pb::RenewLeaseRequest renew;
  renew.set_job_id(running[0].job_id());
  renew.set_lease_token(running[0].lease_token());
  auto r = c().queue().Renew("w1", renew);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->cancelled());

  // A copy nobody manages or verifies any more is no longer counted.
  EXPECT_EQ(c().admin().GetStatus()->files_with_2_copies(), 0u);
  // Gone from the list, history kept under NAME~ID, the name free again.
  EXPECT_EQ(c().admin().ListDestinations()->destinations_size(), 0);
  int done = 0, cancelled = 0;
  for (const pb::JobInfo& j : Jobs()) {
    EXPECT_EQ(j.destination().rfind("nas~", 0), 0u) << j.destination();
    done += j.state() == pb::JOB_STATE_DONE;
    cancelled += j.state() == pb::JOB_STATE_CANCELLED;
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(cancelled, 2);
  CreateNas();
  auto list = c().admin().ListDestinations();
  ASSERT_EQ(list->destinations_size(), 1);
  EXPECT_EQ(list->destinations(0).name(), "nas");
}

TEST_F(DestinationsTest, UnusedDestinationIsPurged) {
  CreateNas();
  pb::CheckDestinationRequest check;
  check.set_name("nas");
  ASSERT_TRUE(c().admin().CheckDestination("admin", check).ok());
  pb::RemoveDestinationRequest rm;
  rm.set_name("nas");
  auto removed = c().admin().RemoveDestination("admin", rm);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_TRUE(removed->purged());
  EXPECT_TRUE(Jobs().empty());
}

TEST_F(DestinationsTest, PausedDestinationIsNotLeasedUntilResumed) {
  CreateNas();
  Bind("");
  pb::PauseDestinationRequest p;
  p.set_name("nas");
  p.set_paused(true);
  ASSERT_TRUE(c().admin().PauseDestination("admin", p).ok());
  Report(kFolder, "a.jpg");  // still queued while paused
  EXPECT_TRUE(Lease(1, 300).empty());
  auto list = c().admin().ListDestinations();
  ASSERT_EQ(list->destinations_size(), 1);
  EXPECT_NE(list->destinations(0).paused_unix_ms(), 0);
  pb::CheckDestinationRequest check;
  check.set_name("nas");
  EXPECT_TRUE(absl::IsFailedPrecondition(c().admin().CheckDestination("admin", check).status()));
  p.set_paused(false);
  ASSERT_TRUE(c().admin().PauseDestination("admin", p).ok());
  EXPECT_EQ(Lease(1).size(), 1u);
}

TEST_F(DestinationsTest, UnbindCancelsOnlyWhatNoOtherBindingCovers) {
  CreateNas();
  Bind("");
  Bind(kFolder);
  Report(kFolder, "a.jpg");
  Report(kOther, "v.mp4");
  auto bindings = c().admin().ListBindings(pb::ListBindingsRequest());
  ASSERT_TRUE(bindings.ok());
  ASSERT_EQ(bindings->bindings_size(), 2);
  EXPECT_EQ(bindings->bindings(0).folder(), "");  // the whole device first
  EXPECT_EQ(bindings->bindings(1).folder(), kFolder);

  pb::UnbindFolderRequest u;
  u.set_device("laptop");
  u.set_folder(kFolder);
  u.set_destination("nas");
  auto r = c().admin().UnbindFolder("admin", u);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->jobs_cancelled(), 0u);  // the device binding still sends it
  u.clear_folder();
  r = c().admin().UnbindFolder("admin", u);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->jobs_cancelled(), 2u);
  EXPECT_TRUE(absl::IsNotFound(c().admin().UnbindFolder("admin", u).status()));
  EXPECT_EQ(c().admin().ListBindings(pb::ListBindingsRequest())->bindings_size(), 0);
  Report(kFolder, "later.jpg");  // no binding: no delivery
  EXPECT_TRUE(Lease(1, 300).empty());
}

TEST_F(DestinationsTest, CheckJobIsLeasedAndItsOutcomeRead) {
  CreateNas();
  pb::CheckDestinationRequest check;
  check.set_name("nas");
  check.set_write_probe(true);
  auto queued = c().admin().CheckDestination("admin", check);
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(queued->state(), pb::JOB_STATE_QUEUED);
  EXPECT_EQ(queued->workers_serving(), 1);
  std::vector<pb::Job> jobs = Lease(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].kind(), pb::JOB_KIND_CHECK);
  EXPECT_EQ(jobs[0].remote_ref(), "write");
  EXPECT_EQ(jobs[0].destination().name(), "nas");
  ASSERT_TRUE(Complete(jobs[0], false, "listing: UNAUTHENTICATED: 401").ok());
  pb::GetDestinationCheckRequest get;
  get.set_name("nas");
  auto failed = c().admin().GetDestinationCheck(get);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->state(), pb::JOB_STATE_DEAD);
  EXPECT_EQ(failed->error(), "listing: UNAUTHENTICATED: 401");
  // A failed check is not an authentication hold: deliveries still lease.
  auto status = c().admin().GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->destinations(0).health(), "");

  check.set_write_probe(false);
  ASSERT_TRUE(c().admin().CheckDestination("admin", check).ok());
  jobs = Lease(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].remote_ref(), "read");
  ASSERT_TRUE(Complete(jobs[0], true, "connected and listed").ok());
  auto passed = c().admin().GetDestinationCheck(get);
  EXPECT_EQ(passed->state(), pb::JOB_STATE_DONE);
  EXPECT_EQ(passed->detail(), "connected and listed");
  auto list = c().admin().ListDestinations();
  EXPECT_EQ(list->destinations(0).last_check_state(), pb::JOB_STATE_DONE);
  EXPECT_EQ(list->destinations(0).last_check_detail(), "connected and listed");
}

TEST_F(DestinationsTest, UpdateValidatesLiftsTheAuthHoldAndCountsDeadJobs) {
  CreateNas();
  Bind("");
  Report(kFolder, "a.jpg");
  Report(kFolder, "b.jpg");
  std::vector<pb::Job> jobs = Lease(2);
  ASSERT_EQ(jobs.size(), 2u);
  pb::FailJobRequest dead;
  dead.set_job_id(jobs[0].job_id());
  dead.set_lease_token(jobs[0].lease_token());
  dead.set_error("root is read-only");
  ASSERT_TRUE(c().queue().Fail("w1", dead).ok());
  pb::FailJobRequest auth;
  auth.set_job_id(jobs[1].job_id());
  auth.set_lease_token(jobs[1].lease_token());
  auth.set_auth_failure(true);
  auth.set_error("permission denied");
  ASSERT_TRUE(c().queue().Fail("w1", auth).ok());
  ASSERT_NE(c().admin().GetStatus()->destinations(0).health(), "");

  pb::UpdateDestinationRequest up;
  up.set_name("nas");
  up.set_settings_patch_json(R"({"rooot":"/srv/x"})");
  auto bad = c().admin().UpdateDestination("admin", up);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("rooot:", 0), 0u) << bad.status();

  up.set_settings_patch_json(R"({"root":"/srv/nas2","fsync":false})");
  auto r = c().admin().UpdateDestination("admin", up);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dead_jobs(), 1u);
  EXPECT_EQ(nlohmann::json::parse(r->destination().settings_json()),
            nlohmann::json({{"root", "/srv/nas2"}, {"fsync", false}}));
  EXPECT_EQ(c().admin().GetStatus()->destinations(0).health(), "");
  EXPECT_EQ(Lease(1).size(), 1u);  // the held job goes again
}

}  // namespace
}  // namespace shoebox
