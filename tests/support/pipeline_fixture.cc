#include "tests/support/pipeline_fixture.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "tests/support/device_upload.h"
#include "workers/destination.h"

namespace shoebox::testsupport {

absl::Status GrpcCheck(const grpc::Status& s, const char* what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

void PipelineFixture::SetUp() {
  ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
  ASSERT_NO_FATAL_FAILURE(StartHarness());
  ASSERT_NO_FATAL_FAILURE(SetUpPipeline());
}

void PipelineFixture::SetUpPipeline(const std::string& hostname,
                                    const std::vector<std::string>& folders) {
  admin_ = v1::AdminService::NewStub(channel());
  agent_ = v1::AgentService::NewStub(channel());
  workers_ = v1::WorkerService::NewStub(channel());
  auto dir = TempDir::Make("pipeline");
  ASSERT_TRUE(dir.ok()) << dir.status();
  dir_ = std::move(*dir);
  // Workers read the coordinator's chunk directory directly, with the data key.
  auto store = OpenDirChunkStore(harness_->dir() + "/chunks");
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  auto master = LoadOrCreateMasterKey(harness_->dir() + "/master.key", false);
  ASSERT_TRUE(master.ok()) << master.status();
  keys_ = DeriveKeys(*master);
  sealed_ = std::make_unique<SealedChunkStore>(store_.get(), keys_.data_key);
  fetcher_ = worker::MakeStoreFetcher(sealed_.get());
  pool_ = GenerateSealKeyPair();
  ASSERT_TRUE(SaveSealKeyPair(dir_->path() + "/pool.key", pool_).ok());

  v1::HelloRequest hello;
  hello.set_hostname(hostname);
  for (const std::string& f : folders) hello.add_folders(f);
  v1::HelloResponse hr;
  grpc::ClientContext ctx;
  AsDevice(&ctx, kDevice);
  grpc::Status hs = agent_->Hello(&ctx, hello, &hr);
  ASSERT_TRUE(hs.ok()) << hs.error_message();
  ASSERT_EQ(hr.chunk_id_key().size(), 32u);
  chunk_id_key_ = hr.chunk_id_key();
}

absl::Status PipelineFixture::AddDestination(const std::string& name, const std::string& kind,
                                             const nlohmann::json& settings,
                                             const nlohmann::json& creds, const std::string& layout,
                                             const std::vector<std::string>& folders) {
  v1::CreateDestinationRequest req;
  req.set_name(name);
  req.set_kind(kind);
  req.set_settings_json(settings.dump());
  if (!layout.empty()) req.set_layout(layout);
  if (!creds.empty()) {
    ASSIGN_OR_RETURN(std::string box,
                     SealToPublicKey(pool_.public_key, AsBytes(creds.dump()), name));
    req.set_sealed_credentials(box);
  }
  v1::Destination d;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  RETURN_IF_ERROR(Check(admin_->CreateDestination(&ctx, req, &d), "CreateDestination"));
  for (const std::string& folder : folders) {
    v1::BindFolderRequest bind;
    bind.set_device(kDevice);
    bind.set_folder(folder);
    bind.set_destination(name);
    v1::BindFolderResponse br;
    grpc::ClientContext ctx2;
    AsAdmin(&ctx2);
    RETURN_IF_ERROR(Check(admin_->BindFolder(&ctx2, bind, &br), "BindFolder"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PipelineFixture::ReportFile(const std::string& path,
                                                                     const std::string& content,
                                                                     const std::string& folder) {
  auto chunks = CutChunks(content, chunk_id_key_, kChunk);
  RETURN_IF_ERROR(
      BackUpFile(*agent_, kDevice, UpsertReport(folder, path, content, chunks, kMtimeNs), chunks));
  std::vector<std::string> order;
  for (const FileChunk& c : chunks) order.push_back(c.id);
  return order;
}

absl::StatusOr<std::unique_ptr<worker::Worker>> PipelineFixture::MakeWorker(
    const std::string& name, worker::ChunkFetcher* fetcher, std::shared_ptr<grpc::Channel> ch,
    const WorkerTweak& tweak) {
  worker::WorkerOptions o;
  o.name = name;
  o.insecure_dev = true;
  o.coordinator = harness_->address();
  o.concurrency = 1;
  o.lease_wait = absl::Seconds(2);
  o.rpc_deadline = absl::Seconds(20);
  if (tweak) tweak(o);
  ASSIGN_OR_RETURN(worker::CredentialOpener opener,
                   worker::MakeSealBoxOpener(dir_->path() + "/pool.key"));
  ASSIGN_OR_RETURN(auto w, worker::Worker::Create(o, ch ? ch : channel(),
                                                  fetcher ? fetcher : fetcher_.get(), opener));
  RETURN_IF_ERROR(w->Register());
  return w;
}

absl::StatusOr<worker::JobOutcome> PipelineFixture::RunUntilCompleted(worker::Worker* w,
                                                                      int tries) {
  absl::Status last = absl::NotFoundError("no job was leased");
  for (int i = 0; i < tries; ++i) {
    absl::StatusOr<worker::JobOutcome> r = w->RunOnce(absl::Seconds(2));
    if (r.ok() && r->completed) return r;
    if (r.ok())
      last = r->error;
    else if (!absl::IsNotFound(r.status()))
      last = r.status();
  }
  return last;
}

absl::StatusOr<v1::StatusResponse> PipelineFixture::Status() {
  v1::StatusResponse resp;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  RETURN_IF_ERROR(Check(admin_->GetStatus(&ctx, v1::GetStatusRequest(), &resp), "GetStatus"));
  return resp;
}

absl::StatusOr<v1::ListJobsResponse> PipelineFixture::ListJobs(const v1::ListJobsRequest& req) {
  v1::ListJobsResponse resp;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  RETURN_IF_ERROR(Check(admin_->ListJobs(&ctx, req, &resp), "ListJobs"));
  return resp;
}

absl::StatusOr<v1::VerifyResponse> PipelineFixture::Verify(double scrub_percent, bool remote,
                                                           uint32_t test_restore) {
  v1::VerifyRequest req;
  req.set_scrub_percent(scrub_percent);
  req.set_remote(remote);
  req.set_test_restore(test_restore);
  v1::VerifyResponse resp;
  grpc::ClientContext ctx;
  AsAdmin(&ctx);
  RETURN_IF_ERROR(Check(admin_->Verify(&ctx, req, &resp), "Verify"));
  return resp;
}

}  // namespace shoebox::testsupport
