#include "workers/worker.h"
#include "workers/snapshot_copy.h"

#include "workers/repair.h"

#include "common/tls_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/config.h"
#include "common/crypto/blob.h"
#include "common/crypto/sealbox.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "workers/placement.h"

namespace shoebox::worker {
namespace {

constexpr char kWorkerVersion[] = "0.1.0";
constexpr int kMaxCollisionCandidates = 1000;

// Fails reads once `flag` is set, so a cancelled or abandoned job stops
// uploading at the next buffer.
class CancellableSource final : public ByteSource {
 public:
  CancellableSource(std::unique_ptr<ByteSource> inner, std::atomic<bool>* flag,
                    std::atomic<uint64_t>* counter)
      : inner_(std::move(inner)), flag_(flag), counter_(counter) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    if (flag_->load()) {
      return absl::CancelledError("the job was cancelled, lost its lease, or the worker is shutting down");
    }
    absl::StatusOr<size_t> n = inner_->Read(buf, max);
    if (n.ok()) *counter_ += *n;
    return n;
  }
  absl::Status Seek(uint64_t offset) override { return inner_->Seek(offset); }
  uint64_t size() const override { return inner_->size(); }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::atomic<bool>* const flag_;
  std::atomic<uint64_t>* const counter_;
};

std::vector<ChunkSpan> Spans(const v1::FileVersion& f) {
  std::vector<ChunkSpan> out;
  out.reserve(static_cast<size_t>(f.chunks_size()));
  for (const auto& c : f.chunks()) {
    ChunkSpan s;
    DigestFromString(c.id(), &s.id);
    s.size = c.size();
    out.push_back(s);
  }
  return out;
}

absl::Status CheckChunkList(const v1::FileVersion& f) {
  uint64_t total = 0;
  for (const auto& c : f.chunks()) {
    if (c.id().size() != 32) {
      return absl::InvalidArgumentError(absl::StrCat("file version ", f.version_id(), ": a chunk ID is not 32 bytes"));
    }
    total += c.size();
  }
  if (total != f.size()) {
    return absl::InvalidArgumentError(absl::StrCat("file version ", f.version_id(), ": chunks add up to ", total,
                                                   " bytes, the file has ", f.size()));
  }
  if (f.sha256().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("file version ", f.version_id(), ": no SHA-256"));
  }
  return absl::OkStatus();
}

// The Stat check that makes delivery idempotent.
bool SameContent(const RemoteObject& o, const v1::FileVersion& f) {
  if (o.size != f.size()) return false;
  if (absl::StartsWith(o.checksum, "sha256:")) return o.checksum == "sha256:" + ToHex(f.sha256());
  // No usable checksum: the connector preserved the mtime; same size and
  // same second is taken as the same file (like rsync's quick check).
  return o.mtime_ns != 0 && o.mtime_ns / 1000000000 == f.mtime_ns() / 1000000000;
}

std::string Dirname(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}

}  // namespace

absl::StatusOr<WorkerOptions> LoadWorkerConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Config c, Config::LoadFile(path));
  WorkerOptions o;
  ASSIGN_OR_RETURN(o.coordinator, c.GetString("worker.coordinator", o.coordinator));
  ASSIGN_OR_RETURN(o.name, c.GetString("worker.name", ""));
  ASSIGN_OR_RETURN(o.insecure_dev, c.GetBool("worker.insecure_dev", false));
  // The identity `shoebox-worker enroll` stores (tls_dir), unless each file
  // is named.
  ASSIGN_OR_RETURN(o.tls_dir, c.GetString("worker.tls_dir", "/etc/shoebox/worker/tls"));
  const TlsIdentityFiles id = TlsIdentityFiles::InDir(o.tls_dir);
  ASSIGN_OR_RETURN(o.ca_file, c.GetString("worker.ca_file", id.ca_file));
  ASSIGN_OR_RETURN(o.cert_file, c.GetString("worker.cert_file", id.cert_file));
  ASSIGN_OR_RETURN(o.key_file, c.GetString("worker.key_file", id.key_file));
  ASSIGN_OR_RETURN(o.kinds, c.GetStrings("worker.kinds", {}));
  ASSIGN_OR_RETURN(o.destinations, c.GetStrings("worker.destinations", {}));
  ASSIGN_OR_RETURN(int64_t conc, c.GetInt("worker.concurrency", 2));
  if (conc < 1 || conc > 256) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": worker.concurrency must be 1..256"));
  }
  o.concurrency = static_cast<int>(conc);
  ASSIGN_OR_RETURN(int64_t nice, c.GetInt("worker.nice", 10));
  if (nice < 0 || nice > 19) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": worker.nice must be 0..19 (10 by default)"));
  }
  o.nice = static_cast<int>(nice);
  ASSIGN_OR_RETURN(o.chunk_store, c.GetString("worker.chunk_store", o.chunk_store));
  ASSIGN_OR_RETURN(o.master_key_file, c.GetString("worker.master_key_file", "/etc/shoebox/master.key"));
  ASSIGN_OR_RETURN(o.pool_key_file, c.GetString("worker.pool_key_file", "/etc/shoebox/worker/pool.key"));
  ASSIGN_OR_RETURN(int64_t grace, c.GetInt("worker.shutdown_grace_seconds", 30));
  o.shutdown_grace = absl::Seconds(grace);
  ASSIGN_OR_RETURN(int64_t wait, c.GetInt("worker.lease_wait_seconds", 10));
  o.lease_wait = absl::Seconds(wait);
  if (o.name.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    o.name = host;
  }
  for (const std::string& k : o.kinds) {
    bool known = false;
    for (const std::string& r : RegisteredConnectorKinds()) known |= r == k;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": worker.kinds has '", k,
                                                     "', which this worker does not support"));
    }
  }
  return o;
}

absl::StatusOr<CredentialOpener> MakeSealBoxOpener(const std::string& pool_key_file) {
  ASSIGN_OR_RETURN(SealKeyPair kp, LoadSealKeyPair(pool_key_file));
  return CredentialOpener([kp](const std::string& sealed, const std::string& dest) -> absl::StatusOr<nlohmann::json> {
    ASSIGN_OR_RETURN(std::string plain, OpenSealedBox(kp, sealed, dest));
    nlohmann::json j = nlohmann::json::parse(plain, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("credentials of destination '", dest,
                                                     "' are not a JSON object; seal them again with `shoebox dest`"));
    }
    return j;
  });
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeCoordinatorChannel(const WorkerOptions& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return MakeShoeboxChannel(o.coordinator, o.insecure_dev, {o.ca_file, o.cert_file, o.key_file},
                            "enroll this worker first: shoebox-worker enroll --token TOKEN (ask the "
                            "admin: shoebox enroll-token --worker NAME), or set insecure_dev for a "
                            "loopback test setup",
                            args);
}

namespace {
class CoordinatorFetcher final : public ChunkFetcher {
 public:
  CoordinatorFetcher(std::shared_ptr<grpc::Channel> ch, std::string name, bool dev, const Key256& key,
                     absl::Duration deadline)
      : stub_(v1::WorkerService::NewStub(ch)), name_(std::move(name)), dev_(dev), sealer_(key), deadline_(deadline) {}
  absl::StatusOr<std::string> GetPlain(const ChunkId& id) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
    if (dev_) ctx.AddMetadata("x-shoebox-worker", name_);
    v1::WorkerReadChunksRequest req;
    req.add_ids(DigestToString(id));
    auto reader = stub_->ReadChunks(&ctx, req);
    v1::ChunkData d;
    std::string blob;
    bool got = false;
    while (reader->Read(&d)) {
      if (d.id() == DigestToString(id)) {
        blob = std::move(*d.mutable_data());
        got = true;
      }
    }
    absl::Status st = FromGrpc(reader->Finish());
    if (!st.ok()) return Annotate(st, "read chunk " + ToHex(ByteSpan(id.data(), id.size())) + " from the coordinator");
    if (!got) {
      return absl::NotFoundError(absl::StrCat("chunk ", ToHex(ByteSpan(id.data(), id.size())),
                                              ": the coordinator returned no data for it"));
    }
    return sealer_.Open(id, blob);
  }

 private:
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  const std::string name_;
  const bool dev_;
  const BlobSealer sealer_;
  const absl::Duration deadline_;
};
}  // namespace

std::unique_ptr<ChunkFetcher> MakeCoordinatorFetcher(std::shared_ptr<grpc::Channel> channel,
                                                     const std::string& worker_name, bool insecure_dev,
                                                     const Key256& data_key, absl::Duration deadline) {
  return std::make_unique<CoordinatorFetcher>(std::move(channel), worker_name, insecure_dev, data_key, deadline);
}

Worker::Worker(WorkerOptions options, std::shared_ptr<grpc::Channel> channel, ChunkFetcher* chunks,
               CredentialOpener open_credentials)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::WorkerService::NewStub(channel_)),
      chunks_(chunks),
      open_credentials_(std::move(open_credentials)) {}

Worker::~Worker() = default;

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options, std::shared_ptr<grpc::Channel> channel,
                                                       ChunkFetcher* chunks, CredentialOpener open_credentials) {
  if (options.name.empty()) return absl::InvalidArgumentError("worker name is empty");
  if (options.concurrency < 1) return absl::InvalidArgumentError("worker concurrency must be at least 1");
  if (chunks == nullptr) return absl::InvalidArgumentError("worker needs a chunk fetcher");
  return std::unique_ptr<Worker>(new Worker(std::move(options), std::move(channel), chunks, std::move(open_credentials)));
}

std::unique_ptr<grpc::ClientContext> Worker::Context(absl::Duration deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (options_.insecure_dev) ctx->AddMetadata("x-shoebox-worker", options_.name);
  return ctx;
}

absl::Status Worker::Register() {
  v1::RegisterWorkerRequest req;
  std::vector<std::string> kinds = options_.kinds.empty() ? RegisteredConnectorKinds() : options_.kinds;
  for (const auto& k : kinds) req.add_kinds(k);
  for (const auto& d : options_.destinations) req.add_destinations(d);
  req.set_max_concurrency(static_cast<uint32_t>(options_.concurrency));
  req.set_version(kWorkerVersion);
  v1::RegisterWorkerResponse resp;
  auto ctx = Context(options_.rpc_deadline);
  absl::Status st = FromGrpc(stub_->RegisterWorker(ctx.get(), req, &resp));
  if (!st.ok()) return Annotate(st, absl::StrCat("register worker '", options_.name, "' with ", options_.coordinator));
  if (resp.lease_ms() > 0) lease_ms_ = resp.lease_ms();
  spdlog::info("worker={} registered id={} kinds={} concurrency={} lease_ms={}", options_.name, resp.worker_id(),
               kinds.size(), options_.concurrency, lease_ms_.load());
  return absl::OkStatus();
}

absl::Status Worker::Run() {
  // Register, retrying while the coordinator is unreachable.
  absl::Duration backoff = absl::Milliseconds(200);
  for (;;) {
    absl::Status st = Register();
    if (st.ok()) break;
    if (ClassifyForRetry(st) != RetryClass::kRetryable) return st;
    spdlog::warn("worker={} cannot register yet: {}", options_.name, std::string(st.message()));
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, absl::ToChronoNanoseconds(backoff), [&] { return stopping_.load(); })) {
      return absl::OkStatus();
    }
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < options_.concurrency; ++i) threads.emplace_back([this] { JobThread(); });
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return stopping_.load(); });
    // No new leases: interrupt the long polls in progress.
    for (grpc::ClientContext* c : lease_ctxs_) c->TryCancel();
    // Grace period for the jobs in hand, then cancel their uploads.
    cv_.wait_for(l, absl::ToChronoNanoseconds(options_.shutdown_grace),
                 [&] { return active_jobs_.load() == 0; });
  }
  abandon_ = true;
  for (auto& t : threads) t.join();
  spdlog::info("worker={} stopped: done={} failed={}", options_.name, jobs_done_.load(), jobs_failed_.load());
  return absl::OkStatus();
}

void Worker::Stop() {
  stopping_ = true;
  cv_.notify_all();
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
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, absl::ToChronoNanoseconds(backoff), [&] { return stopping_.load(); });
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
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return absl::NotFoundError("worker stopping");
    lease_ctxs_.insert(ctx.get());
  }
  absl::Status st = FromGrpc(stub_->LeaseJobs(ctx.get(), req, &resp));
  {
    std::lock_guard<std::mutex> l(mu_);
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
    ++active_jobs_;
    out = Process(job);
    --active_jobs_;
    cv_.notify_all();
  }
  return out;
}

JobOutcome Worker::Process(const v1::Job& job) {
  JobOutcome out;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> done{false};
  std::mutex rmu;
  std::condition_variable rcv;
  bool lease_lost = false;
  // Renew the lease at a third of its length while the job runs.
  std::thread renewer([&] {
    std::unique_lock<std::mutex> l(rmu);
    for (;;) {
      auto period = std::chrono::milliseconds(std::max<uint32_t>(lease_ms_.load() / 3, 50));
      if (rcv.wait_for(l, period, [&] { return done.load(); })) return;
      if (abandon_) {
        cancelled = true;
        continue;
      }
      l.unlock();
      v1::RenewLeaseRequest rq;
      rq.set_job_id(job.job_id());
      rq.set_lease_token(job.lease_token());
      v1::RenewLeaseResponse rs;
      auto ctx = Context(options_.rpc_deadline);
      absl::Status st = FromGrpc(stub_->RenewLease(ctx.get(), rq, &rs));
      l.lock();
      if (st.ok() && rs.cancelled()) {
        spdlog::info("worker={} job={} cancelled by an admin", options_.name, job.job_id());
        cancelled = true;
      } else if (absl::IsFailedPrecondition(st) || absl::IsNotFound(st)) {
        spdlog::warn("worker={} job={} lost its lease: {}", options_.name, job.job_id(), std::string(st.message()));
        lease_lost = true;
        cancelled = true;
      }
    }
  });

  bool uploaded = false;
  absl::StatusOr<v1::CompleteJobRequest> result = Execute(job, &cancelled, &uploaded);
  {
    std::lock_guard<std::mutex> l(rmu);
    done = true;
  }
  rcv.notify_all();
  renewer.join();
  out.uploaded = uploaded;

  if (result.ok()) {
    result->set_job_id(job.job_id());
    result->set_lease_token(job.lease_token());
    absl::Status st;
    for (int attempt = 0; attempt < 5; ++attempt) {
      v1::CompleteJobResponse cr;
      auto ctx = Context(options_.rpc_deadline);
      st = FromGrpc(stub_->CompleteJob(ctx.get(), *result, &cr));
      if (!absl::IsUnavailable(st) && !absl::IsDeadlineExceeded(st)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    }
    if (st.ok()) {
      out.completed = true;
      out.remote_ref = result->remote_ref();
      ++jobs_done_;
      spdlog::info("worker={} job={} done ref={} uploaded={}", options_.name, job.job_id(),
                   PrintablePath(result->remote_ref()), uploaded);
    } else {
      out.error = Annotate(st, "complete job");
      ++jobs_failed_;
      spdlog::warn("worker={} job={} could not be completed: {}", options_.name, job.job_id(), st.ToString());
    }
    return out;
  }

  absl::Status err = result.status();
  if (abandon_ && cancelled) err = absl::UnavailableError("worker shutting down; the job goes back to the queue");
  out.error = err;
  ++jobs_failed_;
  if (lease_lost) {
    // Another worker owns the job now; reporting would be refused.
    spdlog::warn("worker={} job={} abandoned after losing its lease: {}", options_.name, job.job_id(), err.ToString());
    return out;
  }
  RetryClass rc = ClassifyForRetry(err);
  v1::FailJobRequest fr;
  fr.set_job_id(job.job_id());
  fr.set_lease_token(job.lease_token());
  fr.set_retryable(rc == RetryClass::kRetryable);
  fr.set_auth_failure(rc == RetryClass::kAuth);
  fr.set_error(std::string(err.message()).substr(0, 2000));
  if (auto ra = RetryAfterMs(err)) fr.set_retry_after_ms(*ra);
  v1::FailJobResponse fresp;
  auto ctx = Context(options_.rpc_deadline);
  absl::Status st = FromGrpc(stub_->FailJob(ctx.get(), fr, &fresp));
  spdlog::warn("worker={} job={} failed ({}): {}{}", options_.name, job.job_id(),
               rc == RetryClass::kRetryable ? "retryable" : rc == RetryClass::kAuth ? "auth" : "permanent",
               err.ToString(), st.ok() ? "" : absl::StrCat(" (FailJob: ", st.ToString(), ")"));
  return out;
}

absl::StatusOr<std::unique_ptr<Connector>> Worker::ConnectorFor(const v1::Destination& d) {
  nlohmann::json settings = nlohmann::json::object();
  if (!d.settings_json().empty()) {
    settings = nlohmann::json::parse(d.settings_json(), nullptr, false);
    if (settings.is_discarded() || !settings.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("destination '", d.name(),
                                                     "': settings are not a JSON object; fix them with `shoebox dest`"));
    }
  }
  nlohmann::json creds = nlohmann::json::object();
  if (!d.sealed_credentials().empty()) {
    if (!open_credentials_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "destination '", d.name(), "' has sealed credentials but this worker has no pool key; set pool_key_file"));
    }
    ASSIGN_OR_RETURN(creds, open_credentials_(d.sealed_credentials(), d.name()));
  }
  absl::StatusOr<std::unique_ptr<Connector>> c = MakeConnector(d.kind(), settings, creds);
  if (!c.ok()) return Annotate(c.status(), absl::StrCat("destination '", d.name(), "'"));
  return c;
}

absl::StatusOr<v1::CompleteJobRequest> Worker::Execute(const v1::Job& job, std::atomic<bool>* cancelled,
                                                       bool* uploaded) {
  switch (job.kind()) {
    case v1::JOB_KIND_DELIVER: {
      ASSIGN_OR_RETURN(auto conn, ConnectorFor(job.destination()));
      return Deliver(job, conn.get(), cancelled, uploaded);
    }
    case v1::JOB_KIND_VERIFY: {
      ASSIGN_OR_RETURN(auto conn, ConnectorFor(job.destination()));
      return Verify(job, conn.get());
    }
    case v1::JOB_KIND_SCRUB:
      return Scrub(job);
    case v1::JOB_KIND_SNAPSHOT: {  // workers/snapshot_copy.cc
      ASSIGN_OR_RETURN(auto conn, ConnectorFor(job.destination()));
      return CopySnapshot(job, conn.get(), chunks_);
    }
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job.job_id(), " is of kind ", v1::JobKind_Name(job.kind()),
          ", which this worker version does not run; upgrade the workers"));
  }
}

absl::StatusOr<v1::CompleteJobRequest> Worker::Deliver(const v1::Job& job, Connector* conn,
                                                       std::atomic<bool>* cancelled, bool* uploaded) {
  const v1::FileVersion& f = job.file();
  RETURN_IF_ERROR(CheckChunkList(f));
  const std::string& layout = job.destination().layout();
  PlacementInput in;
  in.device = f.device();
  in.folder = f.folder();
  in.path = f.path();
  in.mtime_ns = f.mtime_ns();
  if (LayoutNeedsDate(layout) && f.chunks_size() > 0) {
    ChunkId first;
    DigestFromString(f.chunks(0).id(), &first);
    ASSIGN_OR_RETURN(std::string head, chunks_->GetPlain(first));
    in.exif_date = ExifCaptureDate(head);
  }
  ASSIGN_OR_RETURN(std::string base, ExpandLayout(layout, in));
  const bool one_to_one = LayoutIsOneToOne(layout.empty() ? kDefaultLayout : layout);

  // Pick the name: the first candidate that is free, or holds this content
  // already (then there is nothing to upload), or - for a one-to-one layout
  // - the file's own name (a newer version replaces the older one).
  std::string target;
  for (int n = 1; n <= kMaxCollisionCandidates; ++n) {
    std::string cand = CollisionCandidate(base, n);
    absl::StatusOr<RemoteObject> st = conn->Stat(cand);
    if (absl::IsNotFound(st.status())) {
      target = cand;
      break;
    }
    if (!st.ok()) return Annotate(st.status(), "check " + PrintablePath(cand) + " at " + conn->Describe());
    if (SameContent(*st, f)) {
      v1::CompleteJobRequest done;
      done.set_remote_ref(st->ref);
      done.set_remote_size(st->size);
      done.set_remote_checksum(st->checksum);
      return done;
    }
    if (one_to_one) {
      target = cand;
      break;
    }
  }
  if (target.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kMaxCollisionCandidates, " files named like ",
                                                      PrintablePath(base), " exist at ", conn->Describe()));
  }

  std::string dir = Dirname(target);
  if (!dir.empty()) RETURN_IF_ERROR(conn->EnsureFolder(dir));
  PutRequest req;
  req.remote_path = target;
  req.size = f.size();
  req.mtime_ns = f.mtime_ns();
  req.sha256 = f.sha256();
  if (absl::StrContains(layout, "{album}")) req.album = AlbumFor(in);
  std::unique_ptr<ByteSource> src = std::make_unique<ChunkSource>(chunks_, Spans(f), f.size(), f.sha256());
  if (wrap_source_) src = wrap_source_(std::move(src));
  CancellableSource guarded(std::move(src), cancelled, &bytes_uploaded_);
  *uploaded = true;
  ASSIGN_OR_RETURN(RemoteObject put, conn->Put(req, &guarded, nullptr));

  // Check what the destination now reports.
  ASSIGN_OR_RETURN(RemoteObject after, conn->Stat(target));
  if (after.size != f.size() ||
      (absl::StartsWith(after.checksum, "sha256:") && after.checksum != "sha256:" + ToHex(f.sha256()))) {
    return absl::UnavailableError(absl::StrCat(conn->Describe(), " reports ", PrintablePath(target), " as ",
                                               after.size, " bytes ", after.checksum, " after the upload of ",
                                               f.size(), " bytes; the delivery will be retried"));
  }
  v1::CompleteJobRequest done;
  done.set_remote_ref(after.ref.empty() ? put.ref : after.ref);
  done.set_remote_size(after.size);
  done.set_remote_checksum(after.checksum);
  return done;
}

absl::StatusOr<v1::CompleteJobRequest> Worker::Verify(const v1::Job& job, Connector* conn) {
  const v1::FileVersion& f = job.file();
  PlacementInput in;
  in.device = f.device();
  in.folder = f.folder();
  in.path = f.path();
  in.mtime_ns = f.mtime_ns();
  const std::string& layout = job.destination().layout();
  if (LayoutNeedsDate(layout) && f.chunks_size() > 0) {
    ChunkId first;
    DigestFromString(f.chunks(0).id(), &first);
    ASSIGN_OR_RETURN(std::string head, chunks_->GetPlain(first));
    in.exif_date = ExifCaptureDate(head);
  }
  ASSIGN_OR_RETURN(std::string base, ExpandLayout(layout, in));
  v1::CompleteJobRequest done;
  done.set_verified_ok(false);
  for (int n = 1; n <= kMaxCollisionCandidates; ++n) {
    std::string cand = CollisionCandidate(base, n);
    absl::StatusOr<RemoteObject> st = conn->Stat(cand);
    if (absl::IsNotFound(st.status())) break;
    if (!st.ok()) return st.status();
    if (SameContent(*st, f)) {
      // Damaged chunks of this file in the chunk store: repair them from
      // this copy (workers/repair.h).
      RETURN_IF_ERROR(RepairFromCopy(job, conn, cand, [&](const std::string& id, std::string data) {
        v1::RepairChunkRequest rq;
        rq.set_job_id(job.job_id());
        rq.set_lease_token(job.lease_token());
        rq.set_id(id);
        rq.set_data(std::move(data));
        v1::RepairChunkResponse rs;
        auto ctx = Context(options_.rpc_deadline);
        return Annotate(FromGrpc(stub_->RepairChunk(ctx.get(), rq, &rs)), "repair chunk " + ToHex(id));
      }));
      done.set_verified_ok(true);
      done.set_remote_ref(st->ref);
      done.set_remote_size(st->size);
      done.set_remote_checksum(st->checksum);
      break;
    }
  }
  return done;
}

absl::StatusOr<v1::CompleteJobRequest> Worker::Scrub(const v1::Job& job) {
  const v1::FileVersion& f = job.file();
  RETURN_IF_ERROR(CheckChunkList(f));
  ChunkSource src(chunks_, Spans(f), f.size(), f.sha256());
  std::string buf(1 << 20, '\0');
  absl::Status bad;
  for (;;) {
    absl::StatusOr<size_t> n = src.Read(reinterpret_cast<uint8_t*>(buf.data()), buf.size());
    if (!n.ok()) {
      if (absl::IsDataLoss(n.status()) || absl::IsNotFound(n.status())) {
        bad = n.status();
        break;
      }
      return n.status();
    }
    if (*n == 0) break;
  }
  v1::CompleteJobRequest done;
  done.set_verified_ok(bad.ok());
  if (!bad.ok()) {
    done.set_remote_ref(std::string(bad.message()).substr(0, 1000));
    spdlog::error("worker={} scrub of version {}: {}", options_.name, f.version_id(), bad.ToString());
  }
  return done;
}

}  // namespace shoebox::worker
