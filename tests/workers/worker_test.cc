// The worker against an in-process coordinator (private PostgreSQL): a
// device reports a file and uploads its chunks, the coordinator creates the
// deliveries, and the worker leases, delivers, and completes them - to a
// local directory and to s3rver - including after an interrupted upload and
// after a worker that died holding the lease.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
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
#include "workers/coordinator_client.h"
#include "workers/worker.h"

extern "C" char** environ;

namespace shoebox::worker {
namespace {

using testsupport::PseudoRandomBytes;

namespace fs = std::filesystem;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;

// Passes the inner source through, failing once half of it was read (a
// connection dropped or a worker killed midway through an upload).
class FailHalfway final : public ByteSource {
 public:
  explicit FailHalfway(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    if (pos_ >= inner_->size() / 2) return absl::UnavailableError("test: upload broken halfway");
    ASSIGN_OR_RETURN(size_t n,
                     inner_->Read(buf, std::min<uint64_t>(max, inner_->size() / 2 - pos_)));
    pos_ += n;
    return n;
  }
  absl::Status Seek(uint64_t offset) override {
    pos_ = offset;
    return inner_->Seek(offset);
  }
  uint64_t size() const override { return inner_->size(); }

 private:
  std::unique_ptr<ByteSource> inner_;
  uint64_t pos_ = 0;
};

class WorkerE2E : public testsupport::PipelineFixture {
 protected:
  static std::vector<std::string> FilesUnder(const std::string& root) {
    std::vector<std::string> out;
    if (!fs::exists(root)) return out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string ReadFile(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST_F(WorkerE2E, DeliversAReportedFileToALocalDirectoryAndToS3) {
  auto s3 = testsupport::StartS3rver("photos");
  ASSERT_TRUE(s3.ok()) << s3.status();
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "").ok());
  ASSERT_TRUE(AddDestination(
                  "bucket", "s3", {{"endpoint", (*s3)->endpoint}, {"bucket", "photos"}},
                  {{"access_key_id", (*s3)->access_key}, {"secret_access_key", (*s3)->secret_key}},
                  "{year}/{month}/{name}")
                  .ok());
  const std::string content = PseudoRandomBytes(1000 * 1000 + 17, 1);
  ASSERT_TRUE(ReportFile("2024/Summer/IMG_0001.jpg", content).ok());

  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  auto a = RunUntilCompleted(w->get());
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = RunUntilCompleted(w->get());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(a->uploaded && b->uploaded);

  EXPECT_EQ(FilesUnder(nas), std::vector<std::string>{"laptop/Pictures/2024/Summer/IMG_0001.jpg"});
  EXPECT_TRUE(ReadFile(nas + "/laptop/Pictures/2024/Summer/IMG_0001.jpg") == content);
  auto bytes = (*s3)->AwsCliRead("2024/07/IMG_0001.jpg");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(*bytes == content) << "awscli read " << bytes->size() << " bytes";
}

TEST_F(WorkerE2E, ReadsChunksThroughTheCoordinatorWhenTheStoreIsNotShared) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{album}/{name}").ok());
  const std::string content = PseudoRandomBytes(700000, 2);
  ASSERT_TRUE(ReportFile("Trip/a.jpg", content).ok());
  auto fetcher =
      MakeCoordinatorFetcher(channel(), "w-remote", true, keys_.data_key, absl::Seconds(20));
  auto w = MakeWorker("w-remote", fetcher.get());
  ASSERT_TRUE(w.ok()) << w.status();
  auto r = RunUntilCompleted(w->get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(ReadFile(nas + "/Trip/a.jpg") == content);
}

TEST_F(WorkerE2E, UploadInterruptedMidwayIsRetriedAndLeavesExactlyOneCopy) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{year}/{month}/{name}").ok());
  const std::string content = PseudoRandomBytes(2 * 1000 * 1000, 3);
  ASSERT_TRUE(ReportFile("b.jpg", content).ok());
  auto w = MakeWorker("w-flaky");
  ASSERT_TRUE(w.ok()) << w.status();
  int attempts = 0;
  (*w)->SetSourceWrapperForTest(
      [&](std::unique_ptr<ByteSource> inner) -> std::unique_ptr<ByteSource> {
        if (attempts++ > 0) return inner;
        return std::make_unique<FailHalfway>(std::move(inner));  // the first upload breaks halfway
      });
  auto first = (*w)->RunOnce(absl::Seconds(2));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->completed);
  EXPECT_EQ(ClassifyForRetry(first->error), RetryClass::kRetryable) << first->error;
  EXPECT_TRUE(FilesUnder(nas + "/2024").empty()) << "a broken upload left a file behind";
  auto second = RunUntilCompleted(w->get());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(FilesUnder(nas), std::vector<std::string>{"2024/07/b.jpg"});
  EXPECT_TRUE(ReadFile(nas + "/2024/07/b.jpg") == content);
}

TEST_F(WorkerE2E, JobOfAWorkerThatDiedIsDeliveredOnceByAnother) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{year}/{month}/{name}").ok());
  const std::string content = PseudoRandomBytes(900000, 4);
  ASSERT_TRUE(ReportFile("c.jpg", content).ok());

  // A worker leases the job and dies mid-upload (as after SIGKILL): it never
  // reports back, and its temp file stays in the target folder.
  auto dead = MakeWorker("w-dead");
  ASSERT_TRUE(dead.ok());
  auto stub = v1::WorkerService::NewStub(channel());
  v1::LeaseJobsRequest lr;
  lr.set_max_jobs(1);
  lr.set_wait_ms(2000);
  v1::LeaseJobsResponse leased;
  grpc::ClientContext ctx;
  AsWorker(&ctx, "w-dead");
  ASSERT_TRUE(stub->LeaseJobs(&ctx, lr, &leased).ok());
  ASSERT_EQ(leased.jobs_size(), 1);
  fs::create_directories(nas + "/2024/07");
  std::ofstream(nas + "/2024/07/.c.jpg.shoebox-tmp-0123456789abcdef") << content.substr(0, 1000);

  // Another worker gets the job once the lease expires and delivers it.
  auto w = MakeWorker("w-alive");
  ASSERT_TRUE(w.ok()) << w.status();
  auto r = RunUntilCompleted(w->get());
  ASSERT_TRUE(r.ok()) << r.status();
  auto listed = MakeConnector("local", {{"root", nas}}, nlohmann::json::object());
  ASSERT_TRUE(listed.ok());
  auto objects = (*listed)->List("");
  ASSERT_TRUE(objects.ok());
  ASSERT_EQ(objects->size(), 1u) << "exactly one copy must be visible";
  EXPECT_EQ((*objects)[0].remote_path, "2024/07/c.jpg");
  EXPECT_TRUE(ReadFile(nas + "/2024/07/c.jpg") == content);
  // The dead worker's late report is refused: the job belongs to another.
  v1::CompleteJobRequest late;
  late.set_job_id(leased.jobs(0).job_id());
  late.set_lease_token(leased.jobs(0).lease_token());
  late.set_remote_ref("stale");
  v1::CompleteJobResponse cr;
  grpc::ClientContext ctx2;
  AsWorker(&ctx2, "w-dead");
  EXPECT_FALSE(stub->CompleteJob(&ctx2, late, &cr).ok());
}

TEST_F(WorkerE2E, SameContentUnderTheSameNameIsNotUploadedTwiceAndADifferentOneGetsASuffix) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{year}/{month}/{name}").ok());
  const std::string a = PseudoRandomBytes(400000, 5), b = PseudoRandomBytes(400000, 6);
  ASSERT_TRUE(ReportFile("one/IMG_1.jpg", a).ok());
  ASSERT_TRUE(ReportFile("two/IMG_1.jpg", a).ok());    // the same photo copied elsewhere
  ASSERT_TRUE(ReportFile("three/IMG_1.jpg", b).ok());  // another photo with the same name
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok());
  int uploads = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = RunUntilCompleted(w->get());
    ASSERT_TRUE(r.ok()) << r.status();
    uploads += r->uploaded;
  }
  EXPECT_EQ(uploads, 2) << "the identical copy must be recognised by Stat, not uploaded";
  EXPECT_EQ(FilesUnder(nas),
            (std::vector<std::string>{"2024/07/IMG_1 (2).jpg", "2024/07/IMG_1.jpg"}));
  std::string first = ReadFile(nas + "/2024/07/IMG_1.jpg"),
              second = ReadFile(nas + "/2024/07/IMG_1 (2).jpg");
  EXPECT_TRUE((first == a && second == b) || (first == b && second == a))
      << "a collision overwrote a photo";
}

TEST_F(WorkerE2E, RefusedCredentialsAreReportedAsAnAuthFailure) {
  auto s3 = testsupport::StartS3rver("photos");
  ASSERT_TRUE(s3.ok()) << s3.status();
  ASSERT_TRUE(AddDestination("bucket", "s3", {{"endpoint", (*s3)->endpoint}, {"bucket", "photos"}},
                             {{"access_key_id", "NOT-A-KEY"}, {"secret_access_key", "x"}}, "")
                  .ok());
  ASSERT_TRUE(ReportFile("d.jpg", PseudoRandomBytes(1000, 7)).ok());
  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok());
  auto r = (*w)->RunOnce(absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->completed);
  EXPECT_EQ(ClassifyForRetry(r->error), RetryClass::kAuth) << r->error;
  v1::ListJobsRequest lj;
  lj.set_destination("bucket");
  v1::ListJobsResponse jobs;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  ASSERT_TRUE(admin_->ListJobs(&ctx, lj, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_NE(jobs.jobs(0).state(), v1::JOB_STATE_DONE);
  EXPECT_NE(jobs.jobs(0).last_error().find("credentials"), std::string::npos)
      << jobs.jobs(0).last_error();
}

TEST_F(WorkerE2E, StopDuringAnUploadHandsTheJobBackAndLeavesNothing) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "{year}/{month}/{name}").ok());
  ASSERT_TRUE(ReportFile("slow.jpg", PseudoRandomBytes(600000, 9)).ok());
  WorkerOptions o;
  o.name = "w-stop";
  o.insecure_dev = true;
  o.coordinator = harness_->address();
  o.concurrency = 1;
  o.lease_wait = absl::Seconds(1);
  o.shutdown_grace = absl::Milliseconds(300);
  auto w = Worker::Create(o, channel(), fetcher_.get(), nullptr);
  ASSERT_TRUE(w.ok()) << w.status();
  std::atomic<bool> reading{false};
  // An upload that crawls: 1 KiB every 20 ms (about 12 minutes in all).
  class Crawl final : public ByteSource {
   public:
    Crawl(std::unique_ptr<ByteSource> inner, std::atomic<bool>* flag)
        : inner_(std::move(inner)), flag_(flag) {}
    absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
      *flag_ = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return inner_->Read(buf, std::min<size_t>(max, 1024));
    }
    absl::Status Seek(uint64_t offset) override { return inner_->Seek(offset); }
    uint64_t size() const override { return inner_->size(); }

   private:
    std::unique_ptr<ByteSource> inner_;
    std::atomic<bool>* flag_;
  };
  (*w)->SetSourceWrapperForTest(
      [&](std::unique_ptr<ByteSource> inner) -> std::unique_ptr<ByteSource> {
        return std::make_unique<Crawl>(std::move(inner), &reading);
      });
  absl::Status run;
  std::thread t([&] { run = (*w)->Run(); });
  for (int i = 0; i < 400 && !reading; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(reading) << "the worker never started the upload";
  (*w)->Stop();
  t.join();
  EXPECT_TRUE(run.ok()) << run;
  EXPECT_EQ((*w)->jobs_done(), 0u);
  EXPECT_TRUE(FilesUnder(nas + "/2024").empty()) << "an abandoned upload left a file";
  v1::ListJobsRequest lj;
  lj.set_destination("nas");
  v1::ListJobsResponse jobs;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  ASSERT_TRUE(admin_->ListJobs(&ctx, lj, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_TRUE(jobs.jobs(0).state() == v1::JOB_STATE_RETRY_WAIT ||
              jobs.jobs(0).state() == v1::JOB_STATE_QUEUED)
      << v1::JobState_Name(jobs.jobs(0).state()) << " " << jobs.jobs(0).last_error();
  EXPECT_NE(jobs.jobs(0).last_error().find("shutting down"), std::string::npos)
      << jobs.jobs(0).last_error();
}

TEST_F(WorkerE2E, WorkerBinaryDeliversAndExitsCleanlyOnSigterm) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "").ok());
  const std::string content = PseudoRandomBytes(500000, 8);
  ASSERT_TRUE(ReportFile("e.jpg", content).ok());
  const std::string config = dir_->path() + "/worker.toml";
  std::ofstream(config) << "[worker]\n"
                        << "name = \"w-bin\"\n"
                        << "coordinator = \"" << harness_->address() << "\"\n"
                        << "insecure_dev = true\n"
                        << "concurrency = 2\n"
                        << "chunk_store = \"" << harness_->dir() << "/chunks\"\n"
                        << "master_key_file = \"" << harness_->dir() << "/master.key\"\n"
                        << "pool_key_file = \"" << dir_->path() << "/pool.key\"\n"
                        << "lease_wait_seconds = 1\n"
                        << "shutdown_grace_seconds = 5\n";
  std::vector<std::string> args = {SHOEBOX_WORKER_BINARY, "--config", config, "--log-level",
                                   "warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  const std::string target = nas + "/laptop/Pictures/e.jpg";
  for (int i = 0; i < 300 && !fs::exists(target); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(fs::exists(target)) << "the worker binary did not deliver the file";
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(ReadFile(target) == content);
}

}  // namespace
}  // namespace shoebox::worker
