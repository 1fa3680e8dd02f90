// Hostile and awkward request fields against a real PostgreSQL: the cases
// the request fuzz targets (tests/fuzz/*_requests_fuzz.cc) pin down end to
// end. Calls go to the coordinator's domain classes directly (the services
// only translate).
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator.h"
#include "tests/support/coordinator_fixture.h"

namespace shoebox {
namespace {

namespace pb = shoebox::v1;

const std::string kFolder = "/home/ana/Pictures";

class HostileInputTest : public testsupport::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    StartHarness();
  }

  coordinator::Coordinator& c() { return harness_->coordinator(); }

  // One delivery job for an empty file of "laptop", leased by worker "w1".
  pb::Job LeaseOneJob() {
    pb::CreateDestinationRequest dest;
    dest.set_name("nas");
    dest.set_kind("local");
    dest.set_settings_json(R"({"root":"/srv/nas"})");
    EXPECT_TRUE(c().admin().CreateDestination("admin", dest).ok());
    pb::HelloRequest hello;
    hello.add_folders(kFolder);
    EXPECT_TRUE(c().catalog().Hello("laptop", hello).ok());
    pb::BindFolderRequest bind;
    bind.set_device("laptop");
    bind.set_destination("nas");
    EXPECT_TRUE(c().admin().BindFolder("admin", bind).ok());
    pb::ReportFilesRequest report;
    pb::FileReport* f = report.add_files();
    f->set_folder(kFolder);
    f->set_path("empty.txt");
    f->set_op(pb::FileReport::OP_UPSERT);
    f->set_sha256(std::string(32, '\0'));
    auto r = c().catalog().ReportFiles("laptop", report);
    EXPECT_TRUE(r.ok()) << r.status();
    pb::RegisterWorkerRequest reg;
    reg.add_kinds("local");
    EXPECT_TRUE(c().queue().Register("w1", reg).ok());
    pb::LeaseJobsRequest lease;
    lease.set_max_jobs(1);
    lease.set_wait_ms(5000);
    auto jobs = c().queue().Lease("w1", lease);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    if (!jobs.ok() || jobs->jobs_size() != 1) return pb::Job();
    return jobs->jobs(0);
  }
};

// A connector error longer than the 4000 bytes kept, with a two-byte
// character across the limit: cutting it mid-character made PostgreSQL
// refuse the UPDATE ("invalid byte sequence for encoding UTF8"), so FailJob
// failed and the job sat leased until its lease expired.
TEST_F(HostileInputTest, LongNonAsciiJobErrorIsRecordedCutOnACharacter) {
  pb::Job job = LeaseOneJob();
  ASSERT_GT(job.job_id(), 0);
  pb::FailJobRequest fail;
  fail.set_job_id(job.job_id());
  fail.set_lease_token(job.lease_token());
  fail.set_retryable(false);
  fail.set_error(std::string(3999, 'x') + "\xc3\xa9 (Zugriff verweigert)");
  auto r = c().queue().Fail("w1", fail);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), pb::JOB_STATE_DEAD);
  pb::ListJobsRequest list;
  auto jobs = c().admin().ListJobs(list);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->jobs_size(), 1);
  const std::string& recorded = jobs->jobs(0).last_error();
  EXPECT_EQ(recorded.substr(0, 3999), std::string(3999, 'x'));
  EXPECT_EQ(recorded.find('\xc3'), std::string::npos) << "half a character was kept";
}

// libpq sends text parameters as C strings: a NUL would cut the value short
// ("w1\0x" would revoke "w1"). Such fields are refused by name instead.
TEST_F(HostileInputTest, NulInTextFieldsIsRefusedNamingTheField) {
  pb::HelloRequest hello;
  hello.add_folders(kFolder);
  hello.set_hostname(std::string("lap\0top", 7));
  auto h = c().catalog().Hello("laptop", hello);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.status().message(), "hostname: contains a NUL byte");

  pb::RegisterWorkerRequest reg;
  reg.add_kinds(std::string("local\0s3", 8));
  auto w = c().queue().Register("w1", reg);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);

  pb::RevokeRequest revoke;
  revoke.set_worker(std::string("w1\0x", 4));
  auto rv = c().admin().Revoke("admin", revoke);
  EXPECT_EQ(rv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rv.status().message(), "worker: contains a NUL byte");
}

}  // namespace
}  // namespace shoebox
