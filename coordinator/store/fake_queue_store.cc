// In-memory job queue and destination fakes for unit tests. See fake_stores.h.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {

// --- FakeQueueStore ------------------------------------------------------------

absl::StatusOr<int64_t> FakeQueueStore::RegisterWorker(const WorkerRegistration& reg) {
  absl::MutexLock l(&mu_);
  auto [it, inserted] = workers_.emplace(reg.name, 0);
  if (inserted) it->second = next_id_++;
  return it->second;
}

absl::StatusOr<int64_t> FakeQueueStore::FindWorker(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = workers_.find(name);
  if (it == workers_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("worker '", name, "' is not registered"));
  }
  return it->second;
}

absl::StatusOr<WorkerScope> FakeQueueStore::GetWorkerScope(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = scopes_.find(name);
  return it == scopes_.end() ? WorkerScope{} : it->second;
}

absl::Status FakeQueueStore::SetWorkerScope(const std::string& name, const WorkerScope& scope) {
  absl::MutexLock l(&mu_);
  scopes_[name] = scope;
  return absl::OkStatus();
}

absl::Status FakeQueueStore::CheckChunksLeased(int64_t worker_id,
                                               const std::vector<std::string>& ids) {
  absl::MutexLock l(&mu_);
  for (const std::string& id : ids) {
    bool found = false;
    for (const auto& [job_id, j] : jobs_) {
      if (j.state != JobState::kLeased || j.owner != worker_id ||
          j.job.lease_deadline_unix_ms < now_ms_)
        continue;
      for (const ChunkRef& c : j.job.file.chunks) found = found || c.id == id;
    }
    if (!found) return absl::PermissionDeniedError("chunk is not part of a job this worker leased");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LeasedJob>> FakeQueueStore::LeaseJobs(const LeaseParams& p) {
  absl::MutexLock l(&mu_);
  std::vector<std::pair<int32_t, int64_t>> queued;  // (-priority, id)
  for (const auto& [id, j] : jobs_) {
    if (j.state == JobState::kQueued) queued.emplace_back(-j.priority, id);
  }
  std::sort(queued.begin(), queued.end());
  std::vector<LeasedJob> out;
  for (const auto& [neg_priority, id] : queued) {
    if (out.size() >= p.max_jobs) break;
    QueuedJob& j = jobs_[id];
    j.state = JobState::kLeased;
    j.owner = p.worker_id;
    ++j.job.attempt;
    j.job.lease_token = absl::StrCat("token-", next_token_++, "-", id);
    j.job.lease_deadline_unix_ms = now_ms_ + p.lease_ms;
    out.push_back(j.job);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.job_id < b.job_id; });
  return out;
}

absl::StatusOr<LeaseRenewal> FakeQueueStore::RenewLease(int64_t job_id, const std::string& token,
                                                        uint32_t lease_ms, int64_t worker_id) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end())
    return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
  QueuedJob& j = it->second;
  const bool mine = j.job.lease_token == token;
  if (mine && j.owner != worker_id) return absl::PermissionDeniedError("another worker's lease");
  if (mine && j.state == JobState::kCancelled) return LeaseRenewal{0, true};
  if (!mine || j.state != JobState::kLeased || j.job.lease_deadline_unix_ms < now_ms_) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, ": the lease was lost"));
  }
  j.job.lease_deadline_unix_ms = now_ms_ + lease_ms;
  return LeaseRenewal{j.job.lease_deadline_unix_ms, false};
}

absl::Status FakeQueueStore::CompleteJob(const JobCompletion& c) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(c.job_id);
  if (it == jobs_.end())
    return absl::NotFoundError(absl::StrCat("job ", c.job_id, " does not exist"));
  QueuedJob& j = it->second;
  const bool mine = j.job.lease_token == c.lease_token;
  if (mine && j.owner != c.worker_id) return absl::PermissionDeniedError("another worker's lease");
  if (mine && j.state == JobState::kLeased && j.job.lease_deadline_unix_ms >= now_ms_) {
    // A verify that found a bad copy is done too: the delivery goes again
    // (self-healing), nothing is dead (issue 18; pg_queue.cc).
    j.state = JobState::kDone;
    j.completion = c;
    j.job.resume_state.clear();
    return absl::OkStatus();
  }
  if (mine && (j.state == JobState::kDone || j.state == JobState::kDead)) return absl::OkStatus();
  if (mine && j.state == JobState::kCancelled) {
    return absl::FailedPreconditionError(absl::StrCat("job ", c.job_id, " was cancelled"));
  }
  return absl::FailedPreconditionError(absl::StrCat("job ", c.job_id, ": the lease was lost"));
}

absl::Status FakeQueueStore::SaveResumeState(int64_t job_id, const std::string& token,
                                             int64_t worker_id, const std::string& state) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.job.lease_token != token || it->second.owner != worker_id ||
      it->second.state != JobState::kLeased || it->second.job.lease_deadline_unix_ms < now_ms_) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, ": the lease was lost"));
  }
  it->second.job.resume_state = state;
  return absl::OkStatus();
}

absl::Status FakeQueueStore::UpdateLeasedDestinationCredentials(int64_t job_id,
                                                                const std::string& token,
                                                                int64_t worker_id,
                                                                int64_t destination_id,
                                                                const std::string& sealed) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.job.lease_token != token || it->second.owner != worker_id ||
      it->second.state != JobState::kLeased || it->second.job.lease_deadline_unix_ms < now_ms_ ||
      it->second.job.destination.id != destination_id) {
    return absl::PermissionDeniedError(absl::StrCat(
        "job ", job_id, ": no current lease on a job of destination ", destination_id));
  }
  updated_credentials_[destination_id] = sealed;
  return absl::OkStatus();
}

std::map<int64_t, std::string> FakeQueueStore::updated_credentials() {
  absl::MutexLock l(&mu_);
  return updated_credentials_;
}

absl::StatusOr<FailOutcome> FakeQueueStore::FailJob(const FailParams& p) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(p.job_id);
  if (it == jobs_.end())
    return absl::NotFoundError(absl::StrCat("job ", p.job_id, " does not exist"));
  QueuedJob& j = it->second;
  const bool mine = j.job.lease_token == p.lease_token;
  if (mine && j.owner != p.worker_id) return absl::PermissionDeniedError("another worker's lease");
  if (mine && (j.state == JobState::kCancelled || j.state == JobState::kRetryWait ||
               j.state == JobState::kDead)) {
    return FailOutcome{j.state, j.state == JobState::kRetryWait ? j.next_attempt_ms : 0};
  }
  if (!mine || j.state != JobState::kLeased || j.job.lease_deadline_unix_ms < now_ms_) {
    return absl::FailedPreconditionError(absl::StrCat("job ", p.job_id, ": the lease was lost"));
  }
  j.last_error = p.error;
  if (p.auth_failure || p.not_started) {
    j.state = JobState::kQueued;
    if (j.job.attempt > 0) --j.job.attempt;
    return FailOutcome{JobState::kQueued, 0};
  }
  if (!p.retryable || (j.job.attempt >= p.max_attempts && !p.throttled)) {
    j.state = JobState::kDead;
    if (!p.retryable) j.last_error = absl::StrCat(p.error, " (permanent)");
    return FailOutcome{JobState::kDead, 0};
  }
  j.state = JobState::kRetryWait;
  if (p.throttled && j.job.attempt > 0) --j.job.attempt;  // not the job's fault
  j.next_attempt_ms = now_ms_ + (p.retry_after_ms > 0 ? p.retry_after_ms : p.backoff_base_ms);
  return FailOutcome{JobState::kRetryWait, j.next_attempt_ms};
}

absl::StatusOr<SweepResult> FakeQueueStore::Sweep(uint32_t max_attempts) {
  absl::MutexLock l(&mu_);
  SweepResult r;
  for (auto& [id, j] : jobs_) {
    if (j.state == JobState::kLeased && j.job.lease_deadline_unix_ms < now_ms_) {
      const bool dead = j.job.attempt >= max_attempts;
      j.state = dead ? JobState::kDead : JobState::kQueued;
      ++(dead ? r.dead : r.requeued);
    } else if (j.state == JobState::kRetryWait && j.next_attempt_ms <= now_ms_) {
      j.state = JobState::kQueued;
      ++r.retry_due;
    }
  }
  return r;
}

bool FakeQueueStore::Selected(const JobSelection& sel, int64_t id, const QueuedJob& j) {
  if (!sel.job_ids.empty() &&
      std::find(sel.job_ids.begin(), sel.job_ids.end(), id) == sel.job_ids.end()) {
    return false;
  }
  if (!sel.destination.empty() && j.job.destination.name != sel.destination) return false;
  if (!sel.states.empty() &&
      std::find(sel.states.begin(), sel.states.end(), j.state) == sel.states.end()) {
    return false;
  }
  return true;
}

absl::StatusOr<std::vector<JobRow>> FakeQueueStore::ListJobs(const JobFilter& f,
                                                             uint32_t worker_stale_ms) {
  (void)worker_stale_ms;
  absl::MutexLock l(&mu_);
  std::vector<JobRow> out;
  const JobSelection sel{{}, f.destination, f.states};
  const uint32_t limit = f.limit == 0 ? 1000 : f.limit;
  for (const auto& [id, j] : jobs_) {
    if (!Selected(sel, id, j) || id <= f.after_job_id) continue;
    if (out.size() >= limit) break;
    JobRow& r = out.emplace_back();
    r.job_id = id;
    r.kind = j.job.kind;
    r.state = j.state;
    r.destination = j.job.destination.name;
    r.device = j.job.file.device;
    r.path = j.job.file.path;
    r.attempts = j.job.attempt;
    r.last_error = j.last_error;
    r.priority = j.priority;
  }
  return out;
}

absl::StatusOr<uint64_t> FakeQueueStore::CancelJobs(const JobSelection& sel) {
  absl::MutexLock l(&mu_);
  selections_.push_back(sel);
  uint64_t n = 0;
  for (auto& [id, j] : jobs_) {
    if (!Selected(sel, id, j) || j.state == JobState::kDone || j.state == JobState::kCancelled) {
      continue;
    }
    j.state = JobState::kCancelled;
    ++n;
  }
  return n;
}

absl::StatusOr<uint64_t> FakeQueueStore::RetryJobs(const JobSelection& sel) {
  absl::MutexLock l(&mu_);
  selections_.push_back(sel);
  uint64_t n = 0;
  for (auto& [id, j] : jobs_) {
    if (!Selected(sel, id, j)) continue;
    if (j.state != JobState::kRetryWait && j.state != JobState::kDead &&
        j.state != JobState::kCancelled) {
      continue;
    }
    j.state = JobState::kQueued;
    j.job.attempt = 0;
    ++n;
  }
  return n;
}

absl::StatusOr<uint64_t> FakeQueueStore::SetJobPriority(const JobSelection& sel, int32_t priority) {
  absl::MutexLock l(&mu_);
  selections_.push_back(sel);
  uint64_t n = 0;
  for (auto& [id, j] : jobs_) {
    if (!Selected(sel, id, j)) continue;
    if (j.state != JobState::kQueued && j.state != JobState::kLeased &&
        j.state != JobState::kRetryWait) {
      continue;
    }
    j.priority = priority;
    ++n;
  }
  return n;
}

absl::StatusOr<std::vector<uint64_t>> FakeQueueStore::JobCountsByState() {
  absl::MutexLock l(&mu_);
  std::vector<uint64_t> out(7, 0);
  for (const auto& [id, j] : jobs_) ++out[static_cast<int>(j.state)];
  return out;
}

int64_t FakeQueueStore::AddJob(LeasedJob job, int32_t priority) {
  absl::MutexLock l(&mu_);
  if (job.job_id == 0) job.job_id = next_id_++;
  const int64_t id = job.job_id;
  QueuedJob& j = jobs_[id];
  j.job = std::move(job);
  j.priority = priority;
  return id;
}

FakeQueueStore::JobView FakeQueueStore::Job(int64_t job_id) {
  absl::MutexLock l(&mu_);
  JobView v;
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return v;
  v.state = it->second.state;
  v.attempts = it->second.job.attempt;
  v.last_error = it->second.last_error;
  v.lease_token = it->second.job.lease_token;
  v.priority = it->second.priority;
  v.completion = it->second.completion;
  return v;
}

void FakeQueueStore::SetNowMs(int64_t now_ms) {
  absl::MutexLock l(&mu_);
  now_ms_ = now_ms;
}

std::vector<JobSelection> FakeQueueStore::selections() {
  absl::MutexLock l(&mu_);
  return selections_;
}

// --- FakeDestinationStore ------------------------------------------------------

absl::StatusOr<Destination> FakeDestinationStore::CreateDestination(const NewDestination& d) {
  absl::MutexLock l(&mu_);
  for (const auto& [id, have] : destinations_) {
    if (have.name == d.name) {
      return absl::AlreadyExistsError(absl::StrCat("destination '", d.name, "' already exists"));
    }
  }
  Destination out;
  out.id = next_id_++;
  out.name = d.name;
  out.kind = d.kind;
  out.settings_json = d.settings_json.empty() ? "{}" : d.settings_json;
  out.sealed_credentials = d.sealed_credentials;
  out.layout = d.layout;
  out.max_concurrency = d.max_concurrency;
  destinations_[out.id] = out;
  return out;
}

absl::StatusOr<std::vector<Destination>> FakeDestinationStore::ListDestinations() {
  absl::MutexLock l(&mu_);
  std::vector<Destination> out;
  for (const auto& [id, d] : destinations_)
    if (removed_.count(id) == 0) out.push_back(d);
  return out;
}

absl::StatusOr<uint64_t> FakeDestinationStore::BindFolder(const std::string& device,
                                                          const std::string& folder,
                                                          const std::string& destination,
                                                          bool backfill) {
  absl::MutexLock l(&mu_);
  const bool known = std::any_of(destinations_.begin(), destinations_.end(),
                                 [&](const auto& e) { return e.second.name == destination; });
  if (!known) {
    return absl::NotFoundError(
        absl::StrCat("destination: no destination named '", destination, "'"));
  }
  bindings_.push_back(Binding{device, folder, destination, backfill});
  return backfill ? backfill_jobs_ : 0;
}

std::vector<FakeDestinationStore::Binding> FakeDestinationStore::bindings() {
  absl::MutexLock l(&mu_);
  return bindings_;
}

void FakeDestinationStore::set_backfill_jobs(uint64_t n) {
  absl::MutexLock l(&mu_);
  backfill_jobs_ = n;
}

}  // namespace shoebox::coordinator
