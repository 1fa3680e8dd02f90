// Names that are not plain UTF-8, end to end (issue 18 items 2 and 3), against
// real parts: a private PostgreSQL, an in-process coordinator, real workers,
// and real destination servers (Apache mod_dav, s3rver, OpenSSH sshd).
//
//  - every field group that can carry a name or a text quoting one takes
//    non-UTF-8 bytes through the RPC and gives them back: remote references
//    (CompleteJob -> ListVersions copies -> the verify job's Job.remote_ref),
//    error texts (FailJob -> ListJobs), the device's host name (Hello ->
//    ListDevices), folder problems (Heartbeat -> status);
//  - a file with a Latin-1 name, NFC and NFD twins, a 255-byte name, a deep
//    path, a leading dash and space, '%', quotes and an emoji is delivered to
//    local, s3, webdav and sftp destinations, counted delivered, and restored
//    byte-identical;
//  - a CompleteJob that fails is reported as itself (FailJob with its text),
//    never as an expired lease, and never with an empty message.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "cli/restore.h"
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
#include "workers/jobs/remote_path.h"
#include "workers/worker.h"

namespace shoebox::worker {
namespace {

namespace fs = std::filesystem;
using testsupport::AsAdmin;
using testsupport::AsDevice;
using testsupport::AsWorker;
using testsupport::PseudoRandomBytes;

// The 255-byte name lives in a folder of its own: s3rver stores each object
// as a file named after the key plus a suffix, which no file system takes
// for a 255-byte name (an s3rver limit, not S3's: keys may have 1024 bytes),
// so that name goes to moto (which verifies signatures and takes ASCII
// names) instead of s3rver.
constexpr char kLongFolder[] = "/home/u/Long";
constexpr char kLatin1[] = "latin1-\xe9t\xe9.jpg";  // ISO-8859-1 "été"

using testsupport::GrpcCheck;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The awkward names of issue 18 (relative paths under the folder root).
std::vector<std::string> AwkwardNames() {
  std::string deep;
  for (int i = 0; i < 24; ++i) absl::StrAppend(&deep, "level-", i, "-of-a-deep-tree/");
  return {
      kLatin1,
      "caf\xc3\xa9.jpg",   // NFC: U+00E9
      "cafe\xcc\x81.jpg",  // NFD: e + U+0301, the twin of the one above
      deep + "deep.jpg",
      "-dash.jpg",
      " space.jpg",
      "100%25 %zz.jpg",
      "quote's \"double\".jpg",
      "\xf0\x9f\x93\xb7 camera.jpg",
  };
}

// Replaces the request of every CompleteJob with `replacement` (a request
// the coordinator refuses), or with `hijack_status` answers every CompleteJob
// itself with that status without reaching the coordinator.
class CompleteJobFault final : public grpc::experimental::Interceptor {
 public:
  CompleteJobFault(grpc::experimental::ClientRpcInfo* info, const v1::CompleteJobRequest* bad,
                   std::optional<grpc::Status> hijack)
      : target_(std::string(info->method()) == "/shoebox.v1.WorkerService/CompleteJob"),
        bad_(bad),
        hijack_(std::move(hijack)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using grpc::experimental::InterceptionHookPoints;
    if (!target_) {
      m->Proceed();
      return;
    }
    if (hijack_) {
      if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_RECV_STATUS)) {
        *m->GetRecvStatus() = *hijack_;
      }
      if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
        m->Hijack();
      } else {
        m->Proceed();
      }
      return;
    }
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      const auto* orig = static_cast<const v1::CompleteJobRequest*>(m->GetSendMessage());
      copy_ = *orig;
      copy_.set_remote_ref(bad_->remote_ref());
      m->ModifySendMessage(&copy_);
    }
    m->Proceed();
  }

 private:
  const bool target_;
  const v1::CompleteJobRequest* bad_;
  std::optional<grpc::Status> hijack_;
  v1::CompleteJobRequest copy_;
};

class CompleteJobFaultFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  CompleteJobFaultFactory(const v1::CompleteJobRequest* bad, std::optional<grpc::Status> hijack)
      : bad_(bad), hijack_(std::move(hijack)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new CompleteJobFault(info, bad_, hijack_);
  }

 private:
  const v1::CompleteJobRequest* bad_;
  std::optional<grpc::Status> hijack_;
};

class NamesTest : public testsupport::PipelineFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    ASSERT_NO_FATAL_FAILURE(StartHarness());
    ASSERT_NO_FATAL_FAILURE(
        SetUpPipeline("caf\xe9-host", {kFolder, kLongFolder}));  // a Latin-1 host name
  }

  absl::StatusOr<std::unique_ptr<Worker>> MakeWorker(const std::string& name,
                                                     std::shared_ptr<grpc::Channel> ch = nullptr) {
    return PipelineFixture::MakeWorker(name, nullptr, std::move(ch));
  }

  // A raw worker (its own RPCs) that serves local destinations.
  void RegisterRawWorker() {
    v1::RegisterWorkerRequest req;
    req.add_kinds("local");
    req.set_max_concurrency(1);
    v1::RegisterWorkerResponse resp;
    grpc::ClientContext ctx;
    AsWorker(&ctx, "raw");
    ASSERT_TRUE(workers_->RegisterWorker(&ctx, req, &resp).ok());
  }
  absl::StatusOr<v1::Job> LeaseOne() {
    for (int i = 0; i < 20; ++i) {
      v1::LeaseJobsRequest req;
      req.set_max_jobs(1);
      req.set_wait_ms(1000);
      v1::LeaseJobsResponse resp;
      grpc::ClientContext ctx;
      AsWorker(&ctx, "raw");
      RETURN_IF_ERROR(Check(workers_->LeaseJobs(&ctx, req, &resp), "LeaseJobs"));
      if (resp.jobs_size() > 0) return resp.jobs(0);
    }
    return absl::NotFoundError("no job to lease");
  }

  absl::StatusOr<v1::ListJobsResponse> Jobs() { return ListJobs(); }

  absl::StatusOr<std::vector<v1::FileVersion>> Versions() {
    v1::ListVersionsRequest lv;
    lv.set_device(kDevice);
    v1::ListVersionsResponse vs;
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    RETURN_IF_ERROR(Check(admin_->ListVersions(&ctx, lv, &vs), "ListVersions"));
    return std::vector<v1::FileVersion>(vs.versions().begin(), vs.versions().end());
  }
};

// Reads plaintext chunks through AdminService.ReadChunks (what the CLI does).
class AdminFetcher final : public cli::ChunkFetcher {
 public:
  explicit AdminFetcher(v1::AdminService::Stub* stub) : stub_(stub) {}
  absl::Status Fetch(
      const std::vector<std::string>& ids,
      const std::function<absl::Status(const std::string&, const std::string&)>& sink) override {
    v1::ReadChunksRequest req;
    for (const auto& id : ids) req.add_ids(id);
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    auto reader = stub_->ReadChunks(&ctx, req);
    v1::ChunkData d;
    absl::Status st;
    while (reader->Read(&d)) {
      if (st.ok()) st = sink(d.id(), d.data());
    }
    absl::Status fin = GrpcCheck(reader->Finish(), "ReadChunks");
    return st.ok() ? fin : st;
  }

 private:
  v1::AdminService::Stub* stub_;
};

// Remote references: CompleteJob takes raw bytes, ListVersions gives them
// back in the copy, and the verify job of that copy carries them.
TEST_F(NamesTest, RemoteReferencesKeepNonUtf8Bytes) {
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", dir_->path() + "/nas"}}, {}).ok());
  ASSERT_TRUE(ReportFile(kLatin1, PseudoRandomBytes(1000, 1)).ok());
  ASSERT_NO_FATAL_FAILURE(RegisterRawWorker());
  auto job = LeaseOne();
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->kind(), v1::JOB_KIND_DELIVER);
  EXPECT_EQ(job->file().path(), kLatin1);

  const std::string ref = std::string("laptop/Pictures/") + kLatin1 + "\x80\xff";
  v1::CompleteJobRequest done;
  done.set_job_id(job->job_id());
  done.set_lease_token(job->lease_token());
  done.set_remote_ref(ref);
  done.set_remote_size(1000);
  v1::CompleteJobResponse cr;
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "raw");
    grpc::Status s = workers_->CompleteJob(&ctx, done, &cr);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  auto vs = Versions();
  ASSERT_TRUE(vs.ok()) << vs.status();
  ASSERT_EQ(vs->size(), 1u);
  ASSERT_EQ((*vs)[0].copies_size(), 1);
  EXPECT_EQ((*vs)[0].copies(0).state(), "delivered");
  EXPECT_EQ((*vs)[0].copies(0).remote_ref(), ref);

  // A remote check hands the same bytes back to a worker.
  v1::VerifyRequest vr;
  vr.set_remote(true);
  v1::VerifyResponse vresp;
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    ASSERT_TRUE(admin_->Verify(&ctx, vr, &vresp).ok());
  }
  ASSERT_EQ(vresp.remote_checks_queued(), 1u);
  auto verify = LeaseOne();
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_EQ(verify->kind(), v1::JOB_KIND_VERIFY);
  EXPECT_EQ(verify->remote_ref(), ref);
}

// Error texts: a FailJob quoting a non-UTF-8 name is recorded, and read back
// as valid UTF-8 with each invalid byte as \xNN.
TEST_F(NamesTest, ErrorTextsQuotingNonUtf8NamesAreKeptEscaped) {
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", dir_->path() + "/nas"}}, {}).ok());
  ASSERT_TRUE(ReportFile(kLatin1, PseudoRandomBytes(1000, 2)).ok());
  ASSERT_NO_FATAL_FAILURE(RegisterRawWorker());
  auto job = LeaseOne();
  ASSERT_TRUE(job.ok()) << job.status();
  v1::FailJobRequest fr;
  fr.set_job_id(job->job_id());
  fr.set_lease_token(job->lease_token());
  fr.set_retryable(true);
  fr.set_error(absl::StrCat("could not write ", kLatin1, ": disk full"));
  v1::FailJobResponse fresp;
  {
    grpc::ClientContext ctx;
    AsWorker(&ctx, "raw");
    grpc::Status s = workers_->FailJob(&ctx, fr, &fresp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  EXPECT_EQ(fresp.state(), v1::JOB_STATE_RETRY_WAIT);
  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->jobs_size(), 1);
  EXPECT_EQ(jobs->jobs(0).last_error(), "could not write latin1-\\xe9t\\xe9.jpg: disk full");
  EXPECT_EQ(jobs->jobs(0).path(), kLatin1);
  EXPECT_TRUE(IsValidUtf8(jobs->jobs(0).last_error()));
}

// Device-chosen texts: the host name (Hello) and a folder problem's reason
// (Heartbeat) with Latin-1 bytes reach ListDevices and status.
TEST_F(NamesTest, HostNamesAndFolderProblemsWithNonUtf8Bytes) {
  v1::ListDevicesResponse devs;
  {
    grpc::ClientContext ctx;
    AsAdmin(&ctx);
    ASSERT_TRUE(admin_->ListDevices(&ctx, v1::ListDevicesRequest(), &devs).ok());
  }
  ASSERT_EQ(devs.devices_size(), 1);
  EXPECT_EQ(devs.devices(0).hostname(), "caf\\xe9-host");

  v1::HeartbeatRequest hb;
  v1::FolderProblem* p = hb.add_folder_problems();
  p->set_path(kFolder);
  p->set_reason(
      "is missing (Datei \xfc"
      "berall nicht gefunden)");
  v1::HeartbeatResponse hr;
  {
    grpc::ClientContext ctx;
    AsDevice(&ctx, kDevice);
    grpc::Status s = agent_->Heartbeat(&ctx, hb, &hr);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  auto st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  bool found = false;
  for (const auto& pr : st->problems()) {
    if (pr.kind() != "folder_unavailable") continue;
    found = true;
    EXPECT_NE(pr.message().find("Datei \\xfcberall"), std::string::npos) << pr.message();
    EXPECT_TRUE(IsValidUtf8(pr.message()));
  }
  EXPECT_TRUE(found) << st->DebugString();
}

// Item 3: the coordinator refuses CompleteJob (a remote_ref with a NUL byte):
// the job records that refusal as its last error and is dead at once
// (INVALID_ARGUMENT is permanent), not retried until a lease expires.
TEST_F(NamesTest, ARefusedCompleteJobIsReportedAsItself) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}).ok());
  ASSERT_TRUE(ReportFile("IMG_0001.jpg", PseudoRandomBytes(5000, 3)).ok());
  v1::CompleteJobRequest bad;
  bad.set_remote_ref(std::string("laptop/Pictures/IMG\0_0001.jpg", 29));
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> f;
  f.push_back(std::make_unique<CompleteJobFaultFactory>(&bad, std::nullopt));
  auto ch = grpc::experimental::CreateCustomChannelWithInterceptors(
      harness_->address(), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
      std::move(f));
  auto w = MakeWorker("w1", ch);
  ASSERT_TRUE(w.ok()) << w.status();
  auto r = (*w)->RunOnce(absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->completed);
  EXPECT_TRUE(fs::exists(nas + "/laptop/Pictures/IMG_0001.jpg"));  // the work was done

  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->jobs_size(), 1);
  const auto& j = jobs->jobs(0);
  EXPECT_EQ(j.state(), v1::JOB_STATE_DEAD) << j.DebugString();
  EXPECT_NE(j.last_error().find("completing the job failed"), std::string::npos) << j.last_error();
  EXPECT_NE(j.last_error().find("remote_ref: contains a NUL byte"), std::string::npos)
      << j.last_error();
  EXPECT_EQ(j.last_error().find("lease"), std::string::npos) << j.last_error();
}

// Item 3: a CompleteJob answered with INTERNAL and no message (what the
// issue saw) is retried as INTERNAL says, and the job's last error names the
// code and the operation instead of being empty or "lease expired".
TEST_F(NamesTest, AnEmptyCompleteJobErrorIsNamedByCodeAndOperation) {
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}).ok());
  ASSERT_TRUE(ReportFile("IMG_0002.jpg", PseudoRandomBytes(5000, 4)).ok());
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> f;
  f.push_back(std::make_unique<CompleteJobFaultFactory>(
      nullptr, grpc::Status(grpc::StatusCode::INTERNAL, "")));
  auto ch = grpc::experimental::CreateCustomChannelWithInterceptors(
      harness_->address(), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
      std::move(f));
  auto w = MakeWorker("w1", ch);
  ASSERT_TRUE(w.ok()) << w.status();
  auto r = (*w)->RunOnce(absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->completed);

  auto jobs = Jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->jobs_size(), 1);
  const auto& j = jobs->jobs(0);
  EXPECT_EQ(j.state(), v1::JOB_STATE_RETRY_WAIT) << j.DebugString();
  EXPECT_NE(j.last_error().find("INTERNAL from coordinator during CompleteJob (no message)"),
            std::string::npos)
      << j.last_error();
  EXPECT_EQ(j.last_error().find("lease"), std::string::npos) << j.last_error();
}

// The awkward names to every kind of destination: all delivered and counted,
// the bytes at each destination are the file's, and a restore gives back the
// exact names and contents.
TEST_F(NamesTest, AwkwardNamesAreDeliveredEverywhereAndRestored) {
  auto s3 = testsupport::StartS3rver("photos");
  ASSERT_TRUE(s3.ok()) << s3.status();
  auto moto = testsupport::StartMoto("signed");
  ASSERT_TRUE(moto.ok()) << moto.status();
  auto dav = testsupport::StartApacheDav();
  ASSERT_TRUE(dav.ok()) << dav.status();
  auto sshd = testsupport::StartSshd();
  ASSERT_TRUE(sshd.ok()) << sshd.status();
  const std::vector<std::string> both = {kFolder, kLongFolder};
  const std::string nas = dir_->path() + "/nas";
  ASSERT_TRUE(AddDestination("nas", "local", {{"root", nas}}, {}, "", both).ok());
  ASSERT_TRUE(AddDestination(
                  "bucket", "s3", {{"endpoint", (*s3)->endpoint}, {"bucket", "photos"}},
                  {{"access_key_id", (*s3)->access_key}, {"secret_access_key", (*s3)->secret_key}})
                  .ok());
  ASSERT_TRUE(
      AddDestination(
          "signed", "s3",
          {{"endpoint", (*moto)->endpoint}, {"bucket", "signed"}, {"region", (*moto)->region}},
          {{"access_key_id", (*moto)->access_key}, {"secret_access_key", (*moto)->secret_key}}, "",
          {kLongFolder})
          .ok());
  ASSERT_TRUE(AddDestination("dav", "webdav", {{"url", (*dav)->url}},
                             {{"user", (*dav)->user}, {"password", (*dav)->password}}, "", both)
                  .ok());
  ASSERT_TRUE(AddDestination("box", "sftp",
                             {{"host", (*sshd)->host},
                              {"port", (*sshd)->port},
                              {"path", (*sshd)->root_dir},
                              {"host_key", (*sshd)->host_key_line}},
                             {{"user", (*sshd)->user}, {"private_key", (*sshd)->client_key_pem}},
                             "", both)
                  .ok());

  const std::vector<std::string> names = AwkwardNames();
  const std::string long_name = std::string(251, 'n') + ".jpg";  // 255 bytes
  std::map<std::string, std::string> content;  // "Pictures/<name>" or "Long/<name>"
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string data = PseudoRandomBytes(2000 + 97 * i, 100 + i);
    content["Pictures/" + names[i]] = data;
    ASSERT_TRUE(ReportFile(names[i], data).ok()) << PrintablePath(names[i]);
  }
  content["Long/" + long_name] = PseudoRandomBytes(3333, 99);
  ASSERT_TRUE(ReportFile(long_name, content["Long/" + long_name], kLongFolder).ok());
  // nas, dav, box: every file; bucket: the Pictures folder; signed: Long.
  const size_t want = content.size() * 3 + names.size() + 1;

  auto w = MakeWorker("w1");
  ASSERT_TRUE(w.ok()) << w.status();
  size_t completed = 0;
  absl::Status last;
  for (int i = 0; i < 400 && completed < want; ++i) {
    absl::StatusOr<JobOutcome> r = (*w)->RunOnce(absl::Seconds(1));
    if (r.ok() && r->completed) {
      ++completed;
    } else if (r.ok()) {
      last = r->error;
    } else if (!absl::IsNotFound(r.status())) {
      last = r.status();
    } else if (completed > 0) {
      break;  // nothing left to lease
    }
  }
  EXPECT_EQ(completed, want) << "last error: " << last;

  // Counted delivered: every destination, every file bound to it; none dead.
  auto st = Status();
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_EQ(st->destinations_size(), 5);
  for (const auto& d : st->destinations()) {
    const size_t n = d.name() == "bucket"   ? names.size()
                     : d.name() == "signed" ? 1
                                            : content.size();
    EXPECT_EQ(d.deliveries().delivered_files(), n) << d.DebugString();
    EXPECT_EQ(d.deliveries().dead_files(), 0u) << d.DebugString();
    EXPECT_EQ(d.deliveries().failed_files(), 0u) << d.DebugString();
  }
  EXPECT_EQ(st->files_with_3_copies(), content.size());
  auto vs = Versions();
  ASSERT_TRUE(vs.ok()) << vs.status();
  ASSERT_EQ(vs->size(), content.size());
  for (const auto& v : *vs) {
    ASSERT_EQ(v.copies_size(), 4) << PrintablePath(v.path());
    for (const auto& c : v.copies()) {
      EXPECT_EQ(c.state(), "delivered") << c.destination() << " " << PrintablePath(v.path());
      EXPECT_FALSE(c.remote_ref().empty()) << c.destination() << " " << PrintablePath(v.path());
    }
  }

  // The bytes at each destination, read without Shoebox.
  for (const auto& [rel_in_device, data] : content) {
    const std::string rel = "laptop/" + rel_in_device;
    const std::string shown = PrintablePath(rel);
    EXPECT_TRUE(ReadFile(nas + "/" + rel) == data) << "local " << shown;
    EXPECT_TRUE(ReadFile((*dav)->root_dir + "/" + rel) == data) << "webdav " << shown;
    EXPECT_TRUE(ReadFile((*sshd)->root_dir + "/" + rel) == data) << "sftp " << shown;
    const bool is_long = rel_in_device.rfind("Long/", 0) == 0;
    const std::string key = RemoteName("s3", rel);
    if (rel_in_device == std::string("Pictures/") + kLatin1) {
      EXPECT_EQ(key, "laptop/Pictures/latin1-%E9t%E9.jpg");
    }
    auto got = is_long ? (*moto)->AwsCliRead(key) : (*s3)->AwsCliRead(key);
    ASSERT_TRUE(got.ok()) << "s3 " << PrintablePath(key) << ": " << got.status();
    EXPECT_TRUE(*got == data) << "s3 " << PrintablePath(key);
  }

  // Restored with the exact names and contents.
  cli::RestoreOptions ro;
  ro.target_dir = dir_->path() + "/restore";
  ro.progress = false;
  ro.prefix_folder = true;
  AdminFetcher fetcher(admin_.get());
  auto rr = cli::RestoreVersions(*vs, &fetcher, ro);
  ASSERT_TRUE(rr.ok()) << rr.status();
  EXPECT_EQ(rr->files_restored, content.size());
  EXPECT_TRUE(rr->failures.empty()) << rr->failures[0].path << ": " << rr->failures[0].error;
  std::set<std::string> found, want_names;
  for (const auto& [rel, data] : content) want_names.insert(rel);
  for (auto& e : fs::recursive_directory_iterator(ro.target_dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), ro.target_dir).string();
    found.insert(rel);
    EXPECT_TRUE(ReadFile(e.path().string()) == content[rel]) << PrintablePath(rel);
  }
  EXPECT_EQ(found, want_names);
}

}  // namespace
}  // namespace shoebox::worker
