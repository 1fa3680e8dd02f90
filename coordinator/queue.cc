#include "coordinator/queue.h"

#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/status.h"
#include "common/steady_wait.h"
#include "coordinator/proto_convert.h"
#include "coordinator/validate.h"
#include "spdlog/spdlog.h"

namespace shoebox::coordinator {

namespace {
// Resume state (a Dropbox session keeps one SHA-256 per 4 MiB block sent) and
// sealed credentials are small JSON objects; these bound them.
}  // namespace

absl::StatusOr<int64_t> JobQueue::WorkerId(const std::string& worker) {
  {
    absl::MutexLock l(&mu_);
    auto it = worker_ids_.find(worker);
    if (it != worker_ids_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(int64_t id, store_->FindWorker(worker));
  absl::MutexLock l(&mu_);
  worker_ids_[worker] = id;
  return id;
}

absl::Status JobQueue::AddRepairNeeds(std::vector<LeasedJob>* jobs) {
  std::vector<std::string> ids;
  for (const LeasedJob& j : *jobs) {
    if (j.kind != JobKind::kVerify) continue;
    for (const ChunkRef& c : j.file.chunks) ids.push_back(c.id);
  }
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::set<std::string> damaged, verify_->OpenDamageAmong(ids));
  if (damaged.empty()) return absl::OkStatus();
  for (LeasedJob& j : *jobs) {
    if (j.kind != JobKind::kVerify) continue;
    std::set<std::string> added;
    for (const ChunkRef& c : j.file.chunks) {
      if (damaged.count(c.id) && added.insert(c.id).second) j.repair_chunk_ids.push_back(c.id);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<shoebox::v1::RegisterWorkerResponse> JobQueue::Register(
    const std::string& worker, const shoebox::v1::RegisterWorkerRequest& req) {
  RETURN_IF_ERROR(ValidateRegisterWorker(req));  // coordinator/validate.h
  WorkerRegistration reg;
  reg.name = worker;
  reg.kinds.assign(req.kinds().begin(), req.kinds().end());
  reg.destinations.assign(req.destinations().begin(), req.destinations().end());
  // What the worker asks for, within what the admin allows (issue 17).
  ASSIGN_OR_RETURN(WorkerScope scope, store_->GetWorkerScope(worker));
  auto within = [](const std::vector<std::string>& asked, const std::vector<std::string>& allowed) {
    std::vector<std::string> out;
    for (const std::string& a : asked) {
      if (std::find(allowed.begin(), allowed.end(), a) != allowed.end()) out.push_back(a);
    }
    return out;
  };
  if (scope.kinds) {
    reg.kinds = within(reg.kinds, *scope.kinds);
    if (reg.kinds.empty() && req.kinds_size() > 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("RegisterWorker: worker '", worker, "' may serve destination kinds [",
                       absl::StrJoin(*scope.kinds, ","), "] only and asked for [",
                       absl::StrJoin(req.kinds(), ","),
                       "]; the admin decides: shoebox worker scope ", worker, " --kinds K,..."));
    }
  }
  if (scope.destinations) {
    reg.destinations = reg.destinations.empty() ? *scope.destinations
                                                : within(reg.destinations, *scope.destinations);
    if (reg.destinations.empty()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "RegisterWorker: worker '", worker, "' may serve destinations [",
          absl::StrJoin(*scope.destinations, ","), "] only and asked for [",
          absl::StrJoin(req.destinations(), ","), "]; the admin decides: shoebox worker scope ",
          worker, " --destinations D,..."));
    }
  }
  reg.max_concurrency = req.max_concurrency();
  reg.version = req.version();
  ASSIGN_OR_RETURN(int64_t id, store_->RegisterWorker(reg));
  {
    absl::MutexLock l(&mu_);
    worker_ids_[worker] = id;
  }
  SPDLOG_INFO("event=worker_registered worker=\"{}\" worker_id={} kinds=\"{}\" destinations=\"{}\"",
              worker, id, PrintablePath(absl::StrJoin(reg.kinds, ",")),
              PrintablePath(absl::StrJoin(reg.destinations, ",")));
  shoebox::v1::RegisterWorkerResponse resp;
  resp.set_worker_id(id);
  resp.set_lease_ms(limits_.lease_ms);
  for (const std::string& k : reg.kinds) resp.add_kinds(k);
  for (const std::string& d : reg.destinations) resp.add_destinations(d);
  return resp;
}

absl::Status JobQueue::CheckReadable(const std::string& worker,
                                     const google::protobuf::RepeatedPtrField<std::string>& ids) {
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  std::vector<std::string> v(ids.begin(), ids.end());
  absl::Status st = store_->CheckChunksLeased(worker_id, v);
  if (!st.ok() && absl::IsPermissionDenied(st)) {
    return absl::PermissionDeniedError(
        absl::StrCat("WorkerReadChunks: worker '", worker, "': ", st.message()));
  }
  return st;
}

absl::StatusOr<SweepResult> JobQueue::Sweep(bool force, uint32_t min_interval_ms) {
  const int64_t now = absl::ToUnixMillis(now_());
  int64_t last = last_sweep_ms_.load();
  // A clock stepped back (now < last) used to skip every sweep until it
  // caught up: expired leases stayed out of the queue for the size of the
  // step (a day for -1 day).
  if (!force && now >= last && now - last < min_interval_ms) return SweepResult{};
  if (!last_sweep_ms_.compare_exchange_strong(last, now) && !force) return SweepResult{};
  ASSIGN_OR_RETURN(SweepResult r, store_->Sweep(limits_.max_attempts));
  if (r.requeued + r.dead > 0) {
    SPDLOG_INFO("event=leases_expired requeued={} dead={}", r.requeued, r.dead);
  }
  return r;
}

absl::StatusOr<shoebox::v1::LeaseJobsResponse> JobQueue::Lease(
    const std::string& worker, const shoebox::v1::LeaseJobsRequest& req,
    const std::function<bool()>& gone) {
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  LeaseParams p;
  p.worker_id = worker_id;
  p.max_jobs = std::clamp<uint32_t>(req.max_jobs(), 1, limits_.max_lease_batch);
  p.lease_ms = limits_.lease_ms;
  p.auth_probe_interval_ms = limits_.auth_probe_interval_ms;
  p.worker_stale_ms = limits_.worker_stale_ms;
  // The long poll's end on the monotonic clock: a wall clock stepped back
  // must not hold the worker (and a server thread) for the size of the step.
  const SteadyTime deadline =
      SteadyNow() + std::chrono::milliseconds(std::min(req.wait_ms(), limits_.max_lease_wait_ms));
  absl::Duration pause = absl::Milliseconds(20);
  shoebox::v1::LeaseJobsResponse resp;
  auto hung_up = [&] { return gone && gone(); };
  for (;;) {
    if (hung_up()) {
      return absl::CancelledError(
          absl::StrCat("worker '", worker, "' hung up while waiting for jobs"));
    }
    RETURN_IF_ERROR(Sweep(false).status());
    ASSIGN_OR_RETURN(std::vector<LeasedJob> leased, store_->LeaseJobs(p));
    if (!leased.empty() && hung_up()) {
      for (const LeasedJob& j : leased) {
        FailParams f;
        f.job_id = j.job_id;
        f.worker_id = worker_id;
        f.lease_token = j.lease_token;
        f.not_started = true;
        f.error = "the worker hung up before it received this lease; back to the queue";
        (void)store_->FailJob(f);
      }
      return absl::CancelledError(
          absl::StrCat("worker '", worker, "' hung up while waiting for jobs"));
    }
    if (!leased.empty() || SteadyNow() >= deadline) {
      // Verify jobs learn which chunks of their file need repair (issue 7).
      RETURN_IF_ERROR(AddRepairNeeds(&leased));
      for (const LeasedJob& j : leased) *resp.add_jobs() = ToProto(j);
      return resp;
    }
    absl::SleepFor(std::min(pause, absl::FromChrono(deadline - SteadyNow())));  // relative
    pause = std::min(pause * 2, absl::Milliseconds(250));
  }
}

absl::StatusOr<shoebox::v1::RenewLeaseResponse> JobQueue::Renew(
    const std::string& worker, const shoebox::v1::RenewLeaseRequest& req) {
  RETURN_IF_ERROR(ValidateLease(req.job_id(), req.lease_token()));
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  ASSIGN_OR_RETURN(LeaseRenewal r, store_->RenewLease(req.job_id(), req.lease_token(),
                                                      limits_.lease_ms, worker_id));
  return ToProto(r);
}

absl::Status JobQueue::Complete(const std::string& worker,
                                const shoebox::v1::CompleteJobRequest& req) {
  RETURN_IF_ERROR(ValidateCompleteJob(req));
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  JobCompletion c = FromProto(req);
  c.worker_id = worker_id;
  return store_->CompleteJob(c);
}

absl::StatusOr<shoebox::v1::CompleteJobsResponse> JobQueue::CompleteBatch(
    const std::string& worker, const shoebox::v1::CompleteJobsRequest& req) {
  if (req.jobs_size() > kMaxCompleteBatch) {
    return absl::InvalidArgumentError(absl::StrCat("jobs: ", req.jobs_size(),
                                                   " completions in one call exceed the limit of ",
                                                   kMaxCompleteBatch, "; send them in batches"));
  }
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  shoebox::v1::CompleteJobsResponse resp;
  std::vector<JobCompletion> batch;
  std::vector<int> slot;  // batch entry -> request entry
  for (int i = 0; i < req.jobs_size(); ++i) {
    shoebox::v1::CompleteJobResult* r = resp.add_results();
    r->set_job_id(req.jobs(i).job_id());
    if (absl::Status st = ValidateCompleteJob(req.jobs(i)); !st.ok()) {
      r->set_code(static_cast<int>(st.code()));
      r->set_message(absl::StrCat("jobs[", i, "]: ", st.message()));
      continue;
    }
    JobCompletion c = FromProto(req.jobs(i));
    c.worker_id = worker_id;
    batch.push_back(std::move(c));
    slot.push_back(i);
  }
  if (batch.empty()) return resp;
  ASSIGN_OR_RETURN(std::vector<absl::Status> done, store_->CompleteJobs(batch));
  if (done.size() != batch.size()) {
    return absl::InternalError("complete jobs: one status per job expected from the store");
  }
  for (size_t k = 0; k < done.size(); ++k) {
    shoebox::v1::CompleteJobResult* r = resp.mutable_results(slot[k]);
    r->set_code(static_cast<int>(done[k].code()));
    r->set_message(std::string(done[k].message()));
  }
  return resp;
}

absl::Status JobQueue::SaveResumeState(const std::string& worker,
                                       const shoebox::v1::SaveResumeStateRequest& req) {
  RETURN_IF_ERROR(ValidateSaveResumeState(req));
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  return store_->SaveResumeState(req.job_id(), req.lease_token(), worker_id, req.resume_state());
}

absl::Status JobQueue::UpdateDestinationCredentials(
    const std::string& worker, const shoebox::v1::UpdateDestinationCredentialsRequest& req) {
  RETURN_IF_ERROR(ValidateUpdateDestinationCredentials(req));
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  absl::Status st = store_->UpdateLeasedDestinationCredentials(
      req.job_id(), req.lease_token(), worker_id, req.destination_id(), req.sealed_credentials());
  if (st.ok()) {
    spdlog::info("worker={} stored rotated credentials of destination {} (job {})", worker,
                 req.destination_id(), req.job_id());
  }
  return st;
}

absl::StatusOr<shoebox::v1::FailJobResponse> JobQueue::Fail(
    const std::string& worker, const shoebox::v1::FailJobRequest& req) {
  RETURN_IF_ERROR(ValidateLease(req.job_id(), req.lease_token()));
  ASSIGN_OR_RETURN(int64_t worker_id, WorkerId(worker));
  FailParams p;
  p.job_id = req.job_id();
  p.worker_id = worker_id;
  p.lease_token = req.lease_token();
  p.retryable = req.retryable();
  p.error = FailJobErrorText(req.error());  // whole UTF-8 characters, no NUL
  p.retry_after_ms = req.retry_after_ms();
  p.auth_failure = req.auth_failure();
  p.throttled = req.throttled() && req.retryable();
  p.max_attempts = limits_.max_attempts;
  p.backoff_base_ms = limits_.backoff_base_ms;
  p.backoff_max_ms = limits_.backoff_max_ms;
  ASSIGN_OR_RETURN(FailOutcome outcome, store_->FailJob(p));
  shoebox::v1::FailJobResponse resp = ToProto(outcome);
  SPDLOG_INFO("event=job_failed job={} worker=\"{}\" state={} auth_failure={} error=\"{}\"",
              req.job_id(), worker, shoebox::v1::JobState_Name(resp.state()), req.auth_failure(),
              PrintablePath(p.error));
  return resp;
}

}  // namespace shoebox::coordinator
