// Remote verification and refusals against a real Apache httpd + mod_dav
// (issue 18 items 4, 5 and 6), with an in-process coordinator (private
// PostgreSQL) and a real worker:
//
//  - a verify never rewrites a good copy: Apache's ETag of a file younger
//    than a second is weak (W/"...") and turns strong later, so the ETag
//    recorded at upload no longer matches; the verify reads the copy, finds
//    the catalog's SHA-256, records it again and delivers nothing; the next
//    verify trusts the recorded checksum and reads nothing;
//  - a deleted copy and a copy with one flipped byte are exactly the two
//    delivered again, and nothing is dead;
//  - a folder the server refuses (403) fails only its file, with a short
//    reason; the destination is not held and the other files arrive;
//  - a refused password (401) holds the destination with a one-line reason,
//    not Apache's HTML page.
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/crypto/sealbox.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/agent.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/data_gen.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/servers.h"
#include "workers/chunk_source.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::PseudoRandomBytes;
namespace fs = std::filesystem;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::in | std::ios::out);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Requests in Apache's access log ("METHOD /path STATUS" per line) whose
// method is `method`.
int CountRequests(const std::string& access_log, absl::string_view method) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(ReadFile(access_log), '\n')) {
    if (absl::StartsWith(line, absl::StrCat(method, " "))) ++n;
  }
  return n;
}

class VerifyRemoteTest : public testsupport::PipelineFixture {
 protected:
  absl::Status AddDav(const testsupport::ApacheDav& dav, const std::string& password) {
    return AddDestination("dest", "webdav", {{"url", dav.url}},
                          {{"user", dav.user}, {"password", password}});
  }

  absl::StatusOr<std::unique_ptr<Worker>> MakeWorker(const std::string& name) {
    return PipelineFixture::MakeWorker(name, nullptr, nullptr,
                                       [](WorkerOptions& o) { o.lease_wait = absl::Seconds(1); });
  }

  struct Drained {
    int completed = 0;
    int failed = 0;
  };
  // Runs jobs until none is leased twice in a row.
  static Drained Drain(Worker* w, int max_jobs = 40) {
    Drained d;
    int idle = 0;
    for (int i = 0; i < max_jobs + 2 && idle < 2; ++i) {
      absl::StatusOr<JobOutcome> r = w->RunOnce(absl::Seconds(1));
      if (!r.ok()) {
        ++idle;
        continue;
      }
      idle = 0;
      ++(r->completed ? d.completed : d.failed);
    }
    return d;
  }

  absl::StatusOr<v1::VerifyResponse> VerifyRemote() { return Verify(0, /*remote=*/true); }

  absl::StatusOr<std::vector<v1::JobInfo>> Jobs() {
    ASSIGN_OR_RETURN(v1::ListJobsResponse resp, ListJobs());
    return std::vector<v1::JobInfo>(resp.jobs().begin(), resp.jobs().end());
  }

  absl::StatusOr<v1::DestinationStatus> DestStatus() {
    ASSIGN_OR_RETURN(v1::StatusResponse resp, Status());
    if (resp.destinations_size() != 1) return absl::InternalError("expected one destination");
    return resp.destinations(0);
  }

  static int CountState(const std::vector<v1::JobInfo>& jobs, v1::JobState state) {
    int n = 0;
    for (const auto& j : jobs) n += j.state() == state ? 1 : 0;
    return n;
  }
};

const char* const kNames[] = {"a.jpg", "b.jpg", "c.jpg"};

TEST_F(VerifyRemoteTest, AVerifyOnApacheNeverRewritesAGoodCopyAndReadsItOnlyOnce) {
  auto dav = testsupport::StartApacheDav();
  ASSERT_TRUE(dav.ok()) << dav.status();
  ASSERT_TRUE(AddDav(**dav, (*dav)->password).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ReportFile(kNames[i], PseudoRandomBytes(200 * 1000 + i, 30 + i)).ok());
  }
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  Drained first = Drain(w->get());
  ASSERT_EQ(first.completed, 3);
  ASSERT_EQ(first.failed, 0);
  const int puts = CountRequests((*dav)->access_log, "PUT");
  ASSERT_EQ(puts, 3);
  // Apache's ETag turns from weak to strong once the file is a second old.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  auto r = VerifyRemote();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote_checks_queued(), 3u);
  Drained verify = Drain(w->get());
  EXPECT_EQ(verify.completed, 3) << "three verify jobs and no re-delivery";
  EXPECT_EQ(verify.failed, 0);
  EXPECT_EQ(CountRequests((*dav)->access_log, "PUT"), puts) << "a good copy was uploaded again";
  const int gets = CountRequests((*dav)->access_log, "GET");
  EXPECT_EQ(gets, 3) << "each copy is read once: its recorded ETag is the weak one";
  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_EQ(CountState(*jobs, v1::JOB_STATE_DEAD), 0);
  EXPECT_EQ(CountState(*jobs, v1::JOB_STATE_QUEUED), 0);
  for (const auto& j : *jobs) EXPECT_EQ(j.state(), v1::JOB_STATE_DONE) << j.DebugString();
  auto st = DestStatus();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->deliveries().delivered_files(), 3u);
  EXPECT_EQ(st->deliveries().dead_files(), 0u);
  EXPECT_GT(st->last_verified_unix_ms(), 0);

  // The checksum was recorded again with the current ETag: the next verify
  // trusts it and reads nothing.
  r = VerifyRemote();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote_checks_queued(), 3u);
  verify = Drain(w->get());
  EXPECT_EQ(verify.completed, 3);
  EXPECT_EQ(CountRequests((*dav)->access_log, "GET"), gets);
  EXPECT_EQ(CountRequests((*dav)->access_log, "PUT"), puts);
}

TEST_F(VerifyRemoteTest, ADeletedAndAnAlteredCopyAreExactlyTheTwoDeliveredAgain) {
  auto dav = testsupport::StartApacheDav();
  ASSERT_TRUE(dav.ok()) << dav.status();
  ASSERT_TRUE(AddDav(**dav, (*dav)->password).ok());
  std::vector<std::string> contents;
  for (int i = 0; i < 3; ++i) {
    contents.push_back(PseudoRandomBytes(200 * 1000 + i, 40 + i));
    ASSERT_TRUE(ReportFile(kNames[i], contents.back()).ok());
  }
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(Drain(w->get()).completed, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string base = (*dav)->root_dir + "/laptop/Pictures/";
  ASSERT_TRUE(ReadFile(base + "a.jpg") == contents[0]);
  ASSERT_TRUE(fs::remove(base + "a.jpg"));
  std::string altered = contents[1];
  altered[1000] = static_cast<char>(altered[1000] ^ 0x01);
  WriteFile(base + "b.jpg", altered);
  ASSERT_TRUE(ReadFile(base + "b.jpg") == altered);
  const int puts = CountRequests((*dav)->access_log, "PUT");

  auto r = VerifyRemote();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote_checks_queued(), 3u);
  Drained d = Drain(w->get());
  EXPECT_EQ(d.completed, 5) << "three verify jobs and two re-deliveries";
  EXPECT_EQ(d.failed, 0);
  EXPECT_EQ(CountRequests((*dav)->access_log, "PUT"), puts + 2);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(ReadFile(base + kNames[i]) == contents[i]) << kNames[i];
  }

  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_EQ(CountState(*jobs, v1::JOB_STATE_DEAD), 0);
  int redelivered = 0;
  int found_bad = 0;
  for (const auto& j : *jobs) {
    EXPECT_EQ(j.state(), v1::JOB_STATE_DONE) << j.DebugString();
    if (j.kind() == v1::JOB_KIND_DELIVER && absl::StrContains(j.last_error(), "re-delivery")) {
      ++redelivered;
    }
    if (j.kind() == v1::JOB_KIND_VERIFY &&
        absl::StrContains(j.last_error(), "missing or differs")) {
      ++found_bad;
      EXPECT_TRUE(absl::StrContains(j.last_error(), "a.jpg") ||
                  absl::StrContains(j.last_error(), "b.jpg"))
          << j.last_error();
    }
  }
  EXPECT_EQ(redelivered, 2);
  EXPECT_EQ(found_bad, 2);
  auto st = DestStatus();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->deliveries().delivered_files(), 3u);
  EXPECT_EQ(st->deliveries().dead_files(), 0u);
  EXPECT_EQ(st->deliveries().pending_files(), 0u);
}

TEST_F(VerifyRemoteTest, AFolderTheServerRefusesFailsOnlyItsFileAndTheDestinationGoesOn) {
  auto dav = testsupport::StartApacheDav(false, {"laptop/Pictures/private"});
  ASSERT_TRUE(dav.ok()) << dav.status();
  ASSERT_TRUE(AddDav(**dav, (*dav)->password).ok());
  // The refused file first: it must not hold the ones after it.
  ASSERT_TRUE(ReportFile("private/secret.jpg", PseudoRandomBytes(5000, 50)).ok());
  ASSERT_TRUE(ReportFile("a.jpg", PseudoRandomBytes(5000, 51)).ok());
  ASSERT_TRUE(ReportFile("c.jpg", PseudoRandomBytes(5000, 52)).ok());
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  Drained d = Drain(w->get());
  EXPECT_EQ(d.completed, 2);
  EXPECT_EQ(d.failed, 1);
  const std::string base = (*dav)->root_dir + "/laptop/Pictures/";
  EXPECT_TRUE(fs::exists(base + "a.jpg"));
  EXPECT_TRUE(fs::exists(base + "c.jpg"));
  EXPECT_FALSE(fs::exists(base + "private/secret.jpg"));

  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  int dead = 0;
  for (const auto& j : *jobs) {
    if (j.state() != v1::JOB_STATE_DEAD) {
      EXPECT_EQ(j.state(), v1::JOB_STATE_DONE) << j.DebugString();
      continue;
    }
    ++dead;
    EXPECT_EQ(j.path(), "private/secret.jpg");
    EXPECT_EQ(j.attempts(), 1u) << "a refusal is not retried";
    EXPECT_TRUE(absl::StrContains(j.last_error(), "HTTP 403 (403 Forbidden")) << j.last_error();
    EXPECT_TRUE(absl::StrContains(j.last_error(), "only this path is refused")) << j.last_error();
    EXPECT_EQ(j.last_error().find('<'), std::string::npos) << j.last_error();
  }
  EXPECT_EQ(dead, 1);
  auto st = DestStatus();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->health(), "") << "one refused path must not hold the destination";
  EXPECT_EQ(st->deliveries().delivered_files(), 2u);
  EXPECT_EQ(st->deliveries().dead_files(), 1u);
  EXPECT_EQ(st->deliveries().pending_files(), 0u);
}

TEST_F(VerifyRemoteTest, AKeyTheS3PolicyRefusesFailsOnlyItsFileAndTheDestinationGoesOn) {
  // moto verifies Signature V4 and enforces the user's policy per key.
  auto s3 = testsupport::StartMoto("photos", "laptop/Pictures/private/");
  ASSERT_TRUE(s3.ok()) << s3.status();
  ASSERT_TRUE(AddDestination(
                  "dest", "s3",
                  {{"endpoint", (*s3)->endpoint}, {"bucket", "photos"}, {"style", "path"}},
                  {{"access_key_id", (*s3)->access_key}, {"secret_access_key", (*s3)->secret_key}})
                  .ok());
  ASSERT_TRUE(ReportFile("private/secret.jpg", PseudoRandomBytes(5000, 70)).ok());
  ASSERT_TRUE(ReportFile("a.jpg", PseudoRandomBytes(5000, 71)).ok());
  ASSERT_TRUE(ReportFile("c.jpg", PseudoRandomBytes(5000, 72)).ok());
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  Drained d = Drain(w->get());
  EXPECT_EQ(d.completed, 2);
  EXPECT_EQ(d.failed, 1);
  EXPECT_TRUE((*s3)->AwsCliRead("laptop/Pictures/a.jpg").ok());
  EXPECT_TRUE((*s3)->AwsCliRead("laptop/Pictures/c.jpg").ok());

  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  int dead = 0;
  for (const auto& j : *jobs) {
    if (j.state() != v1::JOB_STATE_DEAD) {
      EXPECT_EQ(j.state(), v1::JOB_STATE_DONE) << j.DebugString();
      continue;
    }
    ++dead;
    EXPECT_EQ(j.path(), "private/secret.jpg");
    EXPECT_EQ(j.attempts(), 1u) << "a refusal is not retried";
    EXPECT_TRUE(absl::StrContains(j.last_error(), "HTTP 403")) << j.last_error();
    EXPECT_TRUE(absl::StrContains(j.last_error(), "only this object is refused")) << j.last_error();
  }
  EXPECT_EQ(dead, 1);
  auto st = DestStatus();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->health(), "") << "one refused key must not hold the destination";
  EXPECT_EQ(st->deliveries().delivered_files(), 2u);
  EXPECT_EQ(st->deliveries().pending_files(), 0u);
}

TEST_F(VerifyRemoteTest, ARefusedPasswordHoldsTheDestinationWithAOneLineReason) {
  auto dav = testsupport::StartApacheDav();
  ASSERT_TRUE(dav.ok()) << dav.status();
  ASSERT_TRUE(AddDav(**dav, "not-the-password").ok());
  ASSERT_TRUE(ReportFile("a.jpg", PseudoRandomBytes(5000, 60)).ok());
  ASSERT_TRUE(ReportFile("b.jpg", PseudoRandomBytes(5000, 61)).ok());
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  auto r = w->get()->RunOnce(absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->completed);
  auto st = DestStatus();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(absl::StrContains(st->health(), "HTTP 401 (401 Unauthorized: This server could not"))
      << st->health();
  EXPECT_EQ(st->health().find('<'), std::string::npos) << st->health();
  EXPECT_EQ(st->health().find('\n'), std::string::npos) << st->health();
  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_EQ(CountState(*jobs, v1::JOB_STATE_DEAD), 0) << "held, not dead";
  for (const auto& j : *jobs) {
    EXPECT_EQ(j.last_error().find('<'), std::string::npos) << j.last_error();
    if (j.state() == v1::JOB_STATE_QUEUED) {
      EXPECT_TRUE(absl::StrContains(j.waiting_reason(), "failing authentication"))
          << j.waiting_reason();
    }
  }
}

}  // namespace
}  // namespace shoebox::worker
