// Issue 19 against an in-process coordinator (private PostgreSQL):
// - `shoebox dest add --kind dropbox` + `shoebox dest connect` (the real CLI
//   binary; this test plays the browser on the printed URL, the Dropbox fake
//   approves its test user) store a refresh token that an in-process worker
//   uses for the connection check;
// - WorkerService.SaveResumeState and UpdateDestinationCredentials are
//   lease-checked: credentials of another destination, or without the
//   lease, are PERMISSION_DENIED; resume state comes back at the next lease.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "common/http/http_client.h"
#include "shoebox/v1/admin.grpc.pb.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "tests/support/cli_fixture.h"
#include "tests/support/dropbox_fake.h"
#include "workers/chunk_source.h"
#include "workers/destination.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

using testsupport::CliRun;
using testsupport::ReadWholeFile;

class OAuthConnectTest : public testsupport::CliFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CliFixture::SetUp());
    auto fake = testsupport::StartDropboxFake(65);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = std::move(*fake);
  }

  void AddBox() {
    CliRun add = Cli({"dest", "add", "box", "--kind", "dropbox", "--set", "client_id=test-app-key",
                      "--set", "endpoint=" + fake_->url, "--set", "auth_endpoint=" + fake_->url});
    ASSERT_EQ(add.code, 0) << add.err;
    EXPECT_TRUE(absl::StrContains(add.out, "shoebox dest connect box")) << add.out;
  }

  v1::Destination Listed(const std::string& name) {
    auto admin = v1::AdminService::NewStub(channel());
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-shoebox-admin", "test");  // --insecure-dev identity
    v1::ListDestinationsResponse r;
    EXPECT_TRUE(admin->ListDestinations(&ctx, v1::ListDestinationsRequest(), &r).ok());
    for (const auto& d : r.destinations())
      if (d.name() == name) return d;
    return v1::Destination();
  }

  std::unique_ptr<testsupport::DropboxFake> fake_;
};

TEST_F(OAuthConnectTest, ConnectSignsInAndAWorkerChecksWithTheRefreshToken) {
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  ASSERT_NO_FATAL_FAILURE(AddBox());
  std::ofstream(Path("secret")) << fake_->client_secret << "\n";
  CliRun connect;
  std::thread cli([&] {
    connect = Cli({"dest", "connect", "box", "--client-secret-file", Path("secret"), "--no-browser",
                   "--timeout", "60"},
                  "", "connect");
  });
  // The browser: the printed URL, then the redirect to the CLI's listener.
  std::string url;
  for (int i = 0; i < 200 && url.empty(); ++i) {
    std::string out = ReadWholeFile(Path("connect.out"));
    size_t at = out.find(fake_->url + "/oauth2/authorize?");
    if (at != std::string::npos && out.find('\n', at) != std::string::npos)
      url = out.substr(at, out.find('\n', at) - at);
    else
      absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(url.empty()) << ReadWholeFile(Path("connect.err"));
  EXPECT_TRUE(absl::StrContains(url, "code_challenge_method=S256")) << url;
  http::Client browser(http::ClientOptions{});
  // A stray request (a favicon) is answered and ignored: the state differs.
  auto auth = browser.Send(http::Request{.url = url});
  ASSERT_TRUE(auth.ok()) << auth.status();
  ASSERT_EQ(auth->status, 302) << auth->body;
  const std::string loc = auth->Header("location");
  auto stray = browser.Send(http::Request{.url = loc.substr(0, loc.find('?')) + "favicon.ico"});
  ASSERT_TRUE(stray.ok()) << stray.status();
  EXPECT_EQ(stray->status, 400);
  auto page = browser.Send(http::Request{.url = loc});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(absl::StrContains(page->body, "Shoebox is connected")) << page->body;
  cli.join();
  ASSERT_EQ(connect.code, 0) << connect.out << connect.err;
  EXPECT_TRUE(absl::StrContains(connect.out, "connection checked")) << connect.out;
  EXPECT_FALSE(Listed("box").sealed_credentials().empty());
  // The refresh token appears in no output.
  auto stats = fake_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE((*stats)["refreshes"].get<int>(), 1) << "the worker never used the refresh token";
}

TEST_F(OAuthConnectTest, TokenBlobOfAuthorizeConnectsAHeadlessServer) {
  ASSERT_NO_FATAL_FAILURE(AddBox());
  auto rt = fake_->RefreshToken();
  ASSERT_TRUE(rt.ok()) << rt.status();
  nlohmann::json blob = {{"kind", "dropbox"}, {"client_id", "other-app"}, {"refresh_token", *rt}};
  std::ofstream(Path("blob")) << blob.dump() << "\n";
  CliRun wrong = Cli({"dest", "connect", "box", "--token-file", Path("blob"), "--no-check"});
  EXPECT_NE(wrong.code, 0);
  EXPECT_TRUE(absl::StrContains(wrong.err, "shoebox authorize dropbox --client-id test-app-key"))
      << wrong.err;
  blob["client_id"] = "test-app-key";
  std::ofstream(Path("blob")) << blob.dump() << "\n";
  CliRun ok = Cli({"dest", "connect", "box", "--token-file", Path("blob"), "--no-check"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_FALSE(Listed("box").sealed_credentials().empty());
}

TEST_F(OAuthConnectTest, WorkerRpcsRequireTheLeaseOfTheDestinationsJob) {
  ASSERT_NO_FATAL_FAILURE(AddBox());
  CliRun other =
      Cli({"dest", "add", "other", "--kind", "local", "--set", "root=" + Path("o"), "--no-check"});
  ASSERT_EQ(other.code, 0) << other.err;
  auto admin = v1::AdminService::NewStub(channel());
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-shoebox-admin", "test");  // --insecure-dev identity
    v1::CheckDestinationRequest req;
    req.set_name("box");
    v1::DestinationCheck check;
    ASSERT_TRUE(admin->CheckDestination(&ctx, req, &check).ok());
  }
  auto stub = v1::WorkerService::NewStub(channel());
  auto call_ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("x-shoebox-worker", "fake-worker");
    return c;
  };
  {
    v1::RegisterWorkerRequest rq;
    rq.add_kinds("dropbox");
    rq.set_max_concurrency(1);
    v1::RegisterWorkerResponse rs;
    ASSERT_TRUE(stub->RegisterWorker(call_ctx().get(), rq, &rs).ok());
  }
  auto lease = [&]() {
    v1::LeaseJobsRequest rq;
    rq.set_max_jobs(1);
    rq.set_wait_ms(2000);
    v1::LeaseJobsResponse rs;
    for (int i = 0; i < 20 && rs.jobs().empty(); ++i)
      EXPECT_TRUE(stub->LeaseJobs(call_ctx().get(), rq, &rs).ok());
    return rs;
  };
  v1::LeaseJobsResponse leased = lease();
  ASSERT_EQ(leased.jobs_size(), 1);
  const v1::Job job = leased.jobs(0);
  EXPECT_TRUE(job.resume_state().empty());
  const int64_t box_id = job.destination().id();
  const int64_t other_id = Listed("other").id();

  v1::SaveResumeStateRequest save;
  save.set_job_id(job.job_id());
  save.set_lease_token(job.lease_token());
  save.set_resume_state(R"({"v":1,"session_id":"s"})");
  v1::SaveResumeStateResponse saved;
  ASSERT_TRUE(stub->SaveResumeState(call_ctx().get(), save, &saved).ok());

  v1::UpdateDestinationCredentialsRequest up;
  up.set_job_id(job.job_id());
  up.set_lease_token(job.lease_token());
  up.set_destination_id(other_id);
  up.set_sealed_credentials("sealed-bytes");
  v1::UpdateDestinationCredentialsResponse upr;
  grpc::Status s = stub->UpdateDestinationCredentials(call_ctx().get(), up, &upr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  up.set_destination_id(box_id);
  up.set_lease_token(job.lease_token() + "x");
  s = stub->UpdateDestinationCredentials(call_ctx().get(), up, &upr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  up.set_lease_token(job.lease_token());
  s = stub->UpdateDestinationCredentials(call_ctx().get(), up, &upr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Listed("box").sealed_credentials(), "sealed-bytes");
  EXPECT_TRUE(Listed("other").sealed_credentials().empty());

  // Another attempt of the job gets the saved state back.
  v1::FailJobRequest fail;
  fail.set_job_id(job.job_id());
  fail.set_lease_token(job.lease_token());
  fail.set_retryable(true);
  fail.set_error("connection reset");
  fail.set_retry_after_ms(1);
  v1::FailJobResponse failed;
  ASSERT_TRUE(stub->FailJob(call_ctx().get(), fail, &failed).ok());
  v1::LeaseJobsResponse again = lease();
  ASSERT_EQ(again.jobs_size(), 1);
  EXPECT_EQ(again.jobs(0).job_id(), job.job_id());
  EXPECT_EQ(again.jobs(0).resume_state(), R"({"v":1,"session_id":"s"})");
  // The old lease can no longer save anything.
  s = stub->SaveResumeState(call_ctx().get(), save, &saved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

}  // namespace
}  // namespace shoebox::worker
