#include "workers/worker.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/sealbox.h"
#include "common/status.h"
#include "common/steady_wait.h"
#include "spdlog/spdlog.h"
#include "workers/jobs/fetch.h"
#include "workers/lease_renewer.h"

namespace shoebox::worker {
namespace {

constexpr char kWorkerVersion[] = "0.1.0";

}  // namespace

Worker::Worker(WorkerOptions options, std::shared_ptr<grpc::Channel> channel, ChunkFetcher* chunks,
               CredentialOpener open_credentials)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::WorkerService::NewStub(channel_)),
      handlers_(BuiltInJobHandlers()) {
  env_.worker_name = options_.name;
  env_.chunks = chunks;
  env_.open_destination = [open = open_credentials](const v1::Destination& d) {
    return OpenDestination(d, open);
  };
  env_.open_destination_with_env = [open = std::move(open_credentials)](
                                       const v1::Destination& d, const ConnectorEnvironment& e) {
    return OpenDestination(d, open, e);
  };
  env_.store_credentials = [this](const v1::Job& job, const nlohmann::json& creds) {
    return StoreCredentials(job, creds);
  };
  env_.save_resume_state = [this](const v1::Job& job, const std::string& state) {
    return SaveResumeState(job, state);
  };
  album_client_ = MakeCoordinatorAlbumClient(channel_, options_.name, options_.insecure_dev,
                                             options_.rpc_deadline);
  env_.album_directory = [this](const v1::Job& job) {
    return MakeRemoteAlbumDirectory(
        album_client_.get(), AlbumLease{job.job_id(), job.lease_token(), job.destination().id()},
        &album_cache_);
  };
  env_.repair_chunk = [this](const v1::Job& job, const std::string& id, std::string data) {
    return RepairChunk(job, id, std::move(data));
  };
  env_.bytes_uploaded = &bytes_uploaded_;
  // Transfers (issue 21, workers/jobs/fetch.h).
  env_.report_listing = [this](const v1::Job& job, const std::vector<RemoteObject>& items,
                               const ListingReport& report) {
    auto ctx = Context(options_.rpc_deadline);
    return SendListing(stub_.get(), ctx.get(), job, items, report);
  };
  env_.ingest_item = [this](const v1::Job&, const v1::IngestItemHeader& header, ByteSource* src) {
    // A large item may take long: 10 minutes plus a second per MiB.
    auto ctx = Context(options_.rpc_deadline + absl::Minutes(10) +
                       absl::Seconds(static_cast<int64_t>(header.size() >> 20)));
    return SendItem(stub_.get(), ctx.get(), header, src);
  };
}

Worker::~Worker() = default;

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options,
                                                       std::shared_ptr<grpc::Channel> channel,
                                                       ChunkFetcher* chunks,
                                                       CredentialOpener open_credentials) {
  if (options.name.empty()) return absl::InvalidArgumentError("worker name is empty");
  if (options.concurrency < 1)
    return absl::InvalidArgumentError("worker concurrency must be at least 1");
  if (chunks == nullptr) return absl::InvalidArgumentError("worker needs a chunk fetcher");
  return std::unique_ptr<Worker>(
      new Worker(std::move(options), std::move(channel), chunks, std::move(open_credentials)));
}

std::unique_ptr<grpc::ClientContext> Worker::Context(absl::Duration deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(GrpcDeadlineAfter(deadline));
  if (options_.insecure_dev) ctx->AddMetadata("x-shoebox-worker", options_.name);
  return ctx;
}

absl::Status Worker::Register() {
  v1::RegisterWorkerRequest req;
  std::vector<std::string> kinds =
      options_.kinds.empty() ? RegisteredConnectorKinds() : options_.kinds;
  for (const auto& k : kinds) req.add_kinds(k);
  for (const auto& d : options_.destinations) req.add_destinations(d);
  req.set_max_concurrency(static_cast<uint32_t>(options_.concurrency));
  req.set_version(kWorkerVersion);
  v1::RegisterWorkerResponse resp;
  auto ctx = Context(options_.rpc_deadline);
  absl::Status st =
      FromGrpc(stub_->RegisterWorker(ctx.get(), req, &resp), "coordinator", "RegisterWorker");
  if (!st.ok())
    return Annotate(
        st, absl::StrCat("register worker '", options_.name, "' with ", options_.coordinator));
  if (resp.lease_ms() > 0) lease_ms_ = resp.lease_ms();
  spdlog::info("worker={} registered id={} kinds={} concurrency={} lease_ms={}", options_.name,
               resp.worker_id(), kinds.size(), options_.concurrency, lease_ms_.load());
  return absl::OkStatus();
}

bool Worker::WaitForStop(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  return AwaitWithSteadyTimeout(&mu_, &cv_, timeout, [this] { return Stopping(); });
}

absl::Status Worker::Run() {
  // Register, retrying while the coordinator is unreachable.
  absl::Duration backoff = absl::Milliseconds(200);
  for (;;) {
    absl::Status st = Register();
    if (st.ok()) break;
    if (ClassifyForRetry(st) != RetryClass::kRetryable) return st;
    spdlog::warn("worker={} cannot register yet: {}", options_.name, std::string(st.message()));
    if (WaitForStop(backoff)) return absl::OkStatus();
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
  CompletionBatcher::Options batching;
  if (hold_completions_) {
    batching.max_batch = 1 << 20;
    batching.max_delay = absl::Hours(24);
  }
  batcher_ = std::make_unique<CompletionBatcher>(
      batching, [this](const v1::CompleteJobsRequest& req) { return SendCompletions(req); },
      [this](const v1::CompleteJobRequest& done, const absl::Status& st) {
        JobOutcome out;
        AfterComplete(done, st, &out);
      });
  std::vector<std::thread> threads;
  for (int i = 0; i < options_.concurrency; ++i) threads.emplace_back([this] { JobThread(); });
  {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(this, &Worker::Stopping));
    // No new leases: interrupt the long polls in progress.
    for (grpc::ClientContext* c : lease_ctxs_) c->TryCancel();
    // Grace period for the jobs in hand, then cancel their uploads.
    (void)AwaitWithSteadyTimeout(&mu_, &cv_, options_.shutdown_grace, [this] {
      mu_.AssertHeld();
      return NoActiveJobs();
    });
  }
  abandon_ = true;
  for (auto& t : threads) t.join();
  if (drop_unsent_) {
    spdlog::warn("worker={} dropped {} unsent completions (test)", options_.name,
                 batcher_->DropForTest());
  }
  batches_sent_ += batcher_->batches_sent();
  batcher_.reset();  // sends what is left
  spdlog::info("worker={} stopped: done={} failed={}", options_.name, jobs_done_.load(),
               jobs_failed_.load());
  return absl::OkStatus();
}

void Worker::Stop() {
  absl::MutexLock l(&mu_);
  stopping_ = true;
  cv_.SignalAll();
}

void Worker::JobThread() {
  absl::Duration backoff = absl::Milliseconds(200);
  while (!stopping_) {
    absl::StatusOr<JobOutcome> r = RunOnce(options_.lease_wait);
    if (r.ok() || absl::IsNotFound(r.status())) {
      backoff = absl::Milliseconds(200);
      continue;
    }
    if (stopping_) break;  // the long poll was cancelled by Stop()
    spdlog::warn("worker={} lease failed: {}", options_.name, r.status().ToString());
    if (absl::IsFailedPrecondition(r.status())) (void)Register();  // e.g. coordinator restarted
    WaitForStop(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
}

absl::StatusOr<JobOutcome> Worker::RunOnce(absl::Duration wait) {
  v1::LeaseJobsRequest req;
  req.set_max_jobs(1);
  req.set_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(wait)));
  v1::LeaseJobsResponse resp;
  auto ctx = Context(wait + options_.rpc_deadline);
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return absl::NotFoundError("worker stopping");
    lease_ctxs_.insert(ctx.get());
  }
  if (batcher_) {
    // No job in hand: send the finished ones now (a destination's
    // concurrency slot may be waiting for them).
    bool idle = false;
    {
      absl::MutexLock l(&mu_);
      idle = active_jobs_ == 0;
    }
    if (idle && !hold_completions_) batcher_->Kick();
  }
  absl::Status st = FromGrpc(stub_->LeaseJobs(ctx.get(), req, &resp), "coordinator", "LeaseJobs");
  {
    absl::MutexLock l(&mu_);
    lease_ctxs_.erase(ctx.get());
  }
  if (stopping_ && (!st.ok() || resp.jobs_size() > 0)) {
    // Leased while shutting down: hand the jobs straight back.
    for (const v1::Job& job : resp.jobs()) {
      v1::FailJobRequest fr;
      fr.set_job_id(job.job_id());
      fr.set_lease_token(job.lease_token());
      fr.set_retryable(true);
      fr.set_error("worker shutting down; the job goes back to the queue");
      v1::FailJobResponse fresp;
      auto fctx = Context(options_.rpc_deadline);
      (void)stub_->FailJob(fctx.get(), fr, &fresp);
    }
    return absl::NotFoundError("worker stopping");
  }
  RETURN_IF_ERROR(st);
  if (resp.jobs_size() == 0) return absl::NotFoundError("no job");
  JobOutcome out;
  for (const v1::Job& job : resp.jobs()) {
    {
      absl::MutexLock l(&mu_);
      ++active_jobs_;
    }
    out = Process(job);
    absl::MutexLock l(&mu_);
    --active_jobs_;
    if (active_jobs_ == 0) cv_.SignalAll();
  }
  return out;
}

absl::StatusOr<bool> Worker::RenewLease(const v1::Job& job) {
  v1::RenewLeaseRequest rq;
  rq.set_job_id(job.job_id());
  rq.set_lease_token(job.lease_token());
  v1::RenewLeaseResponse rs;
  auto ctx = Context(options_.rpc_deadline);
  RETURN_IF_ERROR(FromGrpc(stub_->RenewLease(ctx.get(), rq, &rs), "coordinator", "RenewLease"));
  return rs.cancelled();
}

absl::Status Worker::RepairChunk(const v1::Job& job, const std::string& id, std::string data) {
  v1::RepairChunkRequest rq;
  rq.set_job_id(job.job_id());
  rq.set_lease_token(job.lease_token());
  rq.set_id(id);
  rq.set_data(std::move(data));
  v1::RepairChunkResponse rs;
  auto ctx = Context(options_.rpc_deadline);
  return Annotate(FromGrpc(stub_->RepairChunk(ctx.get(), rq, &rs), "coordinator", "RepairChunk"),
                  "repair chunk " + ToHex(id));
}

absl::Status Worker::StoreCredentials(const v1::Job& job, const nlohmann::json& credentials) {
  const std::string& dest = job.destination().name();
  if (options_.pool_key_file.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "destination '", dest, "': new credentials cannot be sealed: no pool_key_file"));
  }
  ASSIGN_OR_RETURN(SealKeyPair kp, LoadSealKeyPair(options_.pool_key_file));
  const std::string plain = credentials.dump();
  ASSIGN_OR_RETURN(std::string sealed, SealToPublicKey(kp.public_key, AsBytes(plain), dest));
  v1::UpdateDestinationCredentialsRequest rq;
  rq.set_job_id(job.job_id());
  rq.set_lease_token(job.lease_token());
  rq.set_destination_id(job.destination().id());
  rq.set_sealed_credentials(sealed);
  v1::UpdateDestinationCredentialsResponse rs;
  auto ctx = Context(options_.rpc_deadline);
  RETURN_IF_ERROR(Annotate(FromGrpc(stub_->UpdateDestinationCredentials(ctx.get(), rq, &rs)),
                           absl::StrCat("store the new credentials of destination '", dest, "'")));
  spdlog::info("worker={} job={}: stored the rotated credentials of destination '{}'",
               options_.name, job.job_id(), dest);
  return absl::OkStatus();
}

absl::Status Worker::SaveResumeState(const v1::Job& job, const std::string& state) {
  v1::SaveResumeStateRequest rq;
  rq.set_job_id(job.job_id());
  rq.set_lease_token(job.lease_token());
  rq.set_resume_state(state);
  v1::SaveResumeStateResponse rs;
  auto ctx = Context(options_.rpc_deadline);
  return Annotate(FromGrpc(stub_->SaveResumeState(ctx.get(), rq, &rs)),
                  absl::StrCat("save the resume state of job ", job.job_id()));
}

JobOutcome Worker::Process(const v1::Job& job) {
  JobOutcome out;
  std::atomic<bool> cancelled{false};
  LeaseRenewer renewer(
      absl::StrCat("worker=", options_.name, " job=", job.job_id()),
      [this, &job] { return RenewLease(job); }, &lease_ms_, &abandon_, &cancelled);
  absl::StatusOr<v1::CompleteJobRequest> result;
  {
    JobContext ctx(env_, job, &cancelled);
    if (JobHandler* handler = handlers_.Find(job.kind())) {
      result = handler->Run(job, ctx);
    } else {
      result = absl::FailedPreconditionError(
          absl::StrCat("job ", job.job_id(), " is of kind ", v1::JobKind_Name(job.kind()),
                       ", which this worker version does not run; upgrade the workers"));
    }
    out.uploaded = ctx.uploaded();
  }
  renewer.Stop();

  if (result.ok()) {
    ReportDone(job, *std::move(result), &out);
    return out;
  }
  out.error = result.status();
  if (abandon_ && cancelled)
    out.error = absl::UnavailableError("worker shutting down; the job goes back to the queue");
  ReportFailure(job, renewer.lease_lost(), &out);
  return out;
}

void Worker::ReportDone(const v1::Job& job, v1::CompleteJobRequest done, JobOutcome* out) {
  done.set_job_id(job.job_id());
  done.set_lease_token(job.lease_token());
  if (batcher_) {
    out->completed = true;
    out->remote_ref = done.remote_ref();
    spdlog::debug("worker={} job={} finished ref={} uploaded={}; completion queued", options_.name,
                  job.job_id(), PrintablePath(done.remote_ref()), out->uploaded);
    batcher_->Add(std::move(done));
    return;
  }
  absl::Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    v1::CompleteJobResponse cr;
    auto ctx = Context(options_.rpc_deadline);
    st = FromGrpc(stub_->CompleteJob(ctx.get(), done, &cr), "coordinator", "CompleteJob");
    if (!absl::IsUnavailable(st) && !absl::IsDeadlineExceeded(st)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  AfterComplete(done, st, out);
}

absl::StatusOr<v1::CompleteJobsResponse> Worker::SendCompletions(
    const v1::CompleteJobsRequest& req) {
  absl::Status st;
  v1::CompleteJobsResponse resp;
  for (int attempt = 0; attempt < 5; ++attempt) {
    resp.Clear();
    auto ctx = Context(options_.rpc_deadline);
    st = FromGrpc(stub_->CompleteJobs(ctx.get(), req, &resp), "coordinator", "CompleteJobs");
    if (!absl::IsUnavailable(st) && !absl::IsDeadlineExceeded(st)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  if (st.ok()) return resp;
  if (!absl::IsUnimplemented(st)) return st;
  // A coordinator older than CompleteJobs: one call per job.
  resp.Clear();
  for (const v1::CompleteJobRequest& done : req.jobs()) {
    v1::CompleteJobResponse cr;
    auto ctx = Context(options_.rpc_deadline);
    absl::Status one =
        FromGrpc(stub_->CompleteJob(ctx.get(), done, &cr), "coordinator", "CompleteJob");
    v1::CompleteJobResult* r = resp.add_results();
    r->set_job_id(done.job_id());
    r->set_code(static_cast<int>(one.code()));
    r->set_message(std::string(one.message()));
  }
  return resp;
}

void Worker::AfterComplete(const v1::CompleteJobRequest& done, const absl::Status& st,
                           JobOutcome* out) {
  v1::Job job;  // what ReportFailure needs of it
  job.set_job_id(done.job_id());
  job.set_lease_token(done.lease_token());
  if (st.ok()) {
    out->completed = true;
    out->remote_ref = done.remote_ref();
    ++jobs_done_;
    spdlog::info("worker={} job={} done ref={} uploaded={}", options_.name, job.job_id(),
                 PrintablePath(done.remote_ref()), out->uploaded);
    return;
  }
  out->completed = false;
  // Issue 18: the work is done but the coordinator did not take the result.
  // Report that as itself (FailJob with its text, retried as its code says)
  // instead of leaving the lease to expire, which would hide the cause.
  spdlog::warn("worker={} job={} could not be completed: {}", options_.name, job.job_id(),
               PrintablePath(StatusText(st)));
  if (absl::IsFailedPrecondition(st)) {
    // The lease was lost or the job cancelled: FailJob would be refused the
    // same way, and the job's owner (or an admin) decides about it.
    out->error = Annotate(st, "complete job");
    ++jobs_failed_;
    return;
  }
  out->error = absl::Status(
      st.code(), absl::StrCat("the work was done (ref ", PrintablePath(done.remote_ref()),
                              ") but completing the job failed: ", StatusText(st)));
  ReportFailure(job, /*lease_lost=*/false, out);
}

void Worker::ReportFailure(const v1::Job& job, bool lease_lost, JobOutcome* out) {
  const absl::Status& err = out->error;
  ++jobs_failed_;
  if (lease_lost) {
    // Another worker owns the job now; reporting would be refused.
    spdlog::warn("worker={} job={} abandoned after losing its lease: {}", options_.name,
                 job.job_id(), err.ToString());
    return;
  }
  RetryClass rc = ClassifyForRetry(err);
  v1::FailJobRequest fr;
  fr.set_job_id(job.job_id());
  fr.set_lease_token(job.lease_token());
  fr.set_retryable(rc == RetryClass::kRetryable);
  fr.set_auth_failure(rc == RetryClass::kAuth);
  fr.set_error(std::string(Utf8Prefix(StatusText(err), 2000)));
  if (auto ra = RetryAfterMs(err)) {
    fr.set_retry_after_ms(*ra);
    // The service asked for the wait (429/503 + Retry-After): uncounted.
    fr.set_throttled(rc == RetryClass::kRetryable &&
                     (absl::IsResourceExhausted(err) || absl::IsUnavailable(err)));
  }
  v1::FailJobResponse fresp;
  auto ctx = Context(options_.rpc_deadline);
  absl::Status st = FromGrpc(stub_->FailJob(ctx.get(), fr, &fresp), "coordinator", "FailJob");
  spdlog::warn("worker={} job={} failed ({}): {}{}", options_.name, job.job_id(),
               rc == RetryClass::kRetryable ? "retryable"
               : rc == RetryClass::kAuth    ? "auth"
                                            : "permanent",
               PrintablePath(err.ToString()),
               st.ok() ? "" : absl::StrCat(" (FailJob: ", PrintablePath(st.ToString()), ")"));
}

}  // namespace shoebox::worker
