// Admin's logic against in-memory stores: validation before any store call,
// audit entries, the defaults it fills in, translation of the status.
#include "coordinator/admin.h"

#include <gtest/gtest.h>

#include <string>

#include "coordinator/admin_test_fixture.h"

namespace shoebox::coordinator {
namespace {

namespace pb = shoebox::v1;

using AdminTest = AdminFixture;

TEST_F(AdminTest, CreateDestinationIsAudited) {
  pb::CreateDestinationRequest req;
  req.set_name("nas");
  req.set_kind("local");
  req.set_settings_json(R"({"root":"/srv/nas"})");
  absl::StatusOr<pb::Destination> d = admin_.CreateDestination("alice", req);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->name(), "nas");
  EXPECT_EQ(d->settings_json(), R"({"root":"/srv/nas"})");
  ASSERT_EQ(Audit().size(), 1u);
  EXPECT_EQ(Audit()[0].actor, "alice");
  EXPECT_EQ(Audit()[0].action, "CreateDestination");
  EXPECT_EQ(Audit()[0].detail, "kind=local");
}

TEST_F(AdminTest, BadDestinationNameNeverReachesTheStore) {
  pb::CreateDestinationRequest req;
  req.set_name("no spaces/allowed");
  req.set_kind("local");
  req.set_settings_json(R"({"root":"/srv/nas"})");
  EXPECT_TRUE(absl::IsInvalidArgument(admin_.CreateDestination("alice", req).status()));
  EXPECT_TRUE(destinations_.ListDestinations()->empty());
  EXPECT_TRUE(Audit().empty());
}

TEST_F(AdminTest, TakenDestinationNameIsAlreadyExists) {
  pb::CreateDestinationRequest req;
  req.set_name("nas");
  req.set_kind("local");
  req.set_settings_json(R"({"root":"/srv/nas"})");
  ASSERT_TRUE(admin_.CreateDestination("alice", req).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(admin_.CreateDestination("alice", req).status()));
}

TEST_F(AdminTest, BindFolderReportsBackfillJobs) {
  pb::CreateDestinationRequest dest;
  dest.set_name("nas");
  dest.set_kind("local");
  dest.set_settings_json(R"({"root":"/srv/nas"})");
  ASSERT_TRUE(admin_.CreateDestination("alice", dest).ok());
  destinations_.set_backfill_jobs(12);
  pb::BindFolderRequest req;
  req.set_device("laptop");
  req.set_destination("nas");
  req.set_backfill(true);
  absl::StatusOr<pb::BindFolderResponse> r = admin_.BindFolder("alice", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->jobs_created(), 12u);
  ASSERT_EQ(destinations_.bindings().size(), 1u);
  EXPECT_EQ(destinations_.bindings()[0].device, "laptop");
  EXPECT_EQ(Audit()[0].action, "BindFolder");
}

TEST_F(AdminTest, CancelWithoutAnyFilterIsRefused) {
  pb::JobSelector sel;
  EXPECT_TRUE(absl::IsInvalidArgument(admin_.CancelJobs("alice", sel).status()));
  EXPECT_TRUE(queue_.selections().empty());
}

TEST_F(AdminTest, RetryWithoutFilterRetriesDeadJobsOnly) {
  LeasedJob j;
  j.destination.name = "nas";
  const int64_t dead = queue_.AddJob(j);
  const int64_t queued = queue_.AddJob(j);
  // Make the first one dead: lease both, fail it permanently.
  LeaseParams p;
  p.max_jobs = 1;
  absl::StatusOr<std::vector<LeasedJob>> leased = queue_.LeaseJobs(p);
  ASSERT_TRUE(leased.ok());
  FailParams f;
  f.job_id = dead;
  f.lease_token = (*leased)[0].lease_token;
  f.retryable = false;
  ASSERT_TRUE(queue_.FailJob(f).ok());

  absl::StatusOr<pb::JobActionResponse> r = admin_.RetryJobs("alice", pb::JobSelector());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->affected(), 1u);
  ASSERT_EQ(queue_.selections().size(), 1u);
  EXPECT_EQ(queue_.selections()[0].states, std::vector<JobState>{JobState::kDead});
  EXPECT_EQ(queue_.Job(dead).state, JobState::kQueued);
  EXPECT_EQ(queue_.Job(queued).state, JobState::kQueued);
}

TEST_F(AdminTest, ListJobsTranslatesStates) {
  LeasedJob j;
  j.kind = JobKind::kDeliver;
  j.destination.name = "nas";
  queue_.AddJob(j);
  pb::ListJobsRequest req;
  req.add_states(pb::JOB_STATE_QUEUED);
  absl::StatusOr<pb::ListJobsResponse> r = admin_.ListJobs(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->jobs_size(), 1);
  EXPECT_EQ(r->jobs(0).state(), pb::JOB_STATE_QUEUED);
  EXPECT_EQ(r->jobs(0).kind(), pb::JOB_KIND_DELIVER);
  EXPECT_EQ(r->jobs(0).destination(), "nas");
}

TEST_F(AdminTest, StatusCombinesSummaryAndDamage) {
  StatusSummary s;
  DeviceStatus& d = s.devices.emplace_back();
  d.name = "laptop";
  d.files = 3;
  d.deliveries.delivered_files = 2;
  s.destinations.emplace_back().name = "nas";
  s.chunks_stored = 10;
  status_.set_summary(s);
  ASSERT_TRUE(verify_.RecordDamage(std::string(32, 'x'), "DATA_LOSS").ok());
  absl::StatusOr<pb::StatusResponse> r = admin_.GetStatus();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->devices_size(), 1);
  EXPECT_EQ(r->devices(0).files(), 3u);
  EXPECT_EQ(r->devices(0).deliveries().delivered_files(), 2u);
  ASSERT_EQ(r->destinations_size(), 1);
  EXPECT_TRUE(r->destinations(0).has_deliveries());
  EXPECT_EQ(r->chunks_stored(), 10u);
  EXPECT_EQ(r->damaged_chunks(), 1u);
  EXPECT_EQ(status_.last_worker_stale_ms(), Limits().worker_stale_ms);
}

TEST_F(AdminTest, StatusListsProblems) {
  StatusSummary s;
  DeviceStatus& d = s.devices.emplace_back();
  d.name = "laptop";  // no binding
  d.folder_problems = {"/home/a/Pictures: is missing (No such file or directory)"};
  status_.set_summary(s);
  absl::StatusOr<pb::StatusResponse> r = admin_.GetStatus();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->problems_size(), 2);
  EXPECT_EQ(r->problems(0).kind(), "device_unbound");
  EXPECT_EQ(r->problems(0).device(), "laptop");
  EXPECT_EQ(r->problems(1).kind(), "folder_unavailable");
  EXPECT_NE(r->problems(1).message().find("/home/a/Pictures"), std::string::npos);
}

TEST_F(AdminTest, EnrollTokenNeedsTls) {
  pb::CreateEnrollTokenRequest req;
  req.set_device("laptop");
  EXPECT_TRUE(absl::IsFailedPrecondition(admin_.CreateEnrollToken("alice", req).status()));
}

TEST_F(AdminTest, RevokeRevokesEveryCertificateOfTheIdentity) {
  ASSERT_TRUE(
      identity_.RecordCertificate(CertificateRow{"01", "device", "laptop", "f1", 1, 9, 0}).ok());
  ASSERT_TRUE(
      identity_.RecordCertificate(CertificateRow{"02", "device", "laptop", "f2", 2, 9, 0}).ok());
  pb::RevokeRequest req;
  req.set_device("laptop");
  absl::StatusOr<pb::RevokeResponse> r = admin_.Revoke("alice", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revoked(), 2u);
  EXPECT_EQ(Audit()[0].target, "device:laptop");
  req.set_device("ghost");
  EXPECT_TRUE(absl::IsNotFound(admin_.Revoke("alice", req).status()));
}

TEST_F(AdminTest, ListDevicesShowsFolders) {
  ASSERT_TRUE(catalog_store_.UpsertDevice("laptop", "host", "1.0", {"/home/a"}).ok());
  absl::StatusOr<pb::ListDevicesResponse> r = admin_.ListDevices();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->devices_size(), 1);
  EXPECT_EQ(r->devices(0).name(), "laptop");
  ASSERT_EQ(r->devices(0).folders_size(), 1);
  EXPECT_EQ(r->devices(0).folders(0), "/home/a");
}

}  // namespace
}  // namespace shoebox::coordinator
