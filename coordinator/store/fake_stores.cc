// In-memory store fakes for unit tests. See fake_stores.h.
#include "coordinator/store/fake_stores.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "absl/strings/match.h"

namespace shoebox::coordinator {

// --- FakeCatalogStore ----------------------------------------------------------

absl::StatusOr<int64_t> FakeCatalogStore::UpsertDevice(const std::string& name,
                                                       const std::string& hostname,
                                                       const std::string& agent_version,
                                                       const std::vector<std::string>& folders) {
  (void)agent_version;
  absl::MutexLock l(&mu_);
  DeviceRow& d = devices_[name];
  if (d.id == 0) {
    d.id = next_id_++;
    d.name = name;
  }
  d.hostname = hostname;
  std::vector<Folder>& known = folders_[d.id];
  for (const std::string& root : folders) {
    const bool have = std::any_of(known.begin(), known.end(),
                                  [&](const Folder& f) { return f.root == root; });
    if (!have) {
      known.push_back(Folder{next_id_++, root});
      d.folders.push_back(root);
    }
  }
  return d.id;
}

absl::StatusOr<int64_t> FakeCatalogStore::FindDevice(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = devices_.find(name);
  if (it == devices_.end()) {
    return absl::NotFoundError(absl::StrCat("device '", name, "' is not registered"));
  }
  return it->second.id;
}

absl::Status FakeCatalogStore::RecordHeartbeat(int64_t device_id, const HeartbeatFacts& hb) {
  absl::MutexLock l(&mu_);
  heartbeats_[device_id] = hb;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Folder>> FakeCatalogStore::ListFolders(int64_t device_id) {
  absl::MutexLock l(&mu_);
  return folders_[device_id];
}

absl::StatusOr<std::vector<DamagedFile>> FakeCatalogStore::DamagedFilesOf(int64_t device_id,
                                                                         uint32_t limit) {
  absl::MutexLock l(&mu_);
  std::vector<DamagedFile> out = damaged_[device_id];
  if (out.size() > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<DeviceRow>> FakeCatalogStore::ListDevices() {
  absl::MutexLock l(&mu_);
  std::vector<DeviceRow> out;
  for (const auto& [name, d] : devices_) out.push_back(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<std::vector<ReportOutcome>> FakeCatalogStore::ReportFiles(
    int64_t device_id, const std::vector<ReportItem>& items) {
  absl::MutexLock l(&mu_);
  ++report_calls_;
  std::vector<ReportOutcome> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ReportItem& item = items[i];
    const auto key = std::make_pair(item.folder_id, item.path);
    auto file = files_.find(key);
    StoredVersion* current = file == files_.end() ? nullptr : &versions_[file->second];
    if (item.deleted) {
      if (current == nullptr) continue;  // unknown file: version 0
      if (current->v.deleted_unix_ms == 0) current->v.deleted_unix_ms = 1;
      out[i].version_id = current->v.version_id;
      out[i].state = current->v.state;
      continue;
    }
    const bool unchanged = current != nullptr && current->v.deleted_unix_ms == 0 &&
                           current->v.size == item.size && current->v.mtime_ns == item.mtime_ns &&
                           current->v.sha256 == item.sha256;
    if (unchanged) {
      out[i].version_id = current->v.version_id;
      out[i].state = current->v.state;
      for (const ChunkRef& c : item.chunks) {
        const bool lost = current->v.state == VersionState::kComplete && !chunks_[c.id].stored;
        const bool waited = current->missing.count(c.id) > 0;
        if ((lost || waited) &&
            std::find(out[i].missing.begin(), out[i].missing.end(), c.id) == out[i].missing.end()) {
          out[i].missing.push_back(c.id);
        }
      }
      continue;
    }
    StoredVersion nv;
    nv.device_id = device_id;
    nv.folder_id = item.folder_id;
    nv.v.version_id = next_id_++;
    nv.v.path = item.path;
    nv.v.size = item.size;
    nv.v.mtime_ns = item.mtime_ns;
    nv.v.sha256 = item.sha256;
    nv.v.mode = item.mode;
    nv.v.chunks = item.chunks;
    for (const auto& [name, d] : devices_) {
      if (d.id == device_id) nv.v.device = name;
    }
    for (const Folder& f : folders_[device_id]) {
      if (f.id == item.folder_id) nv.v.folder = f.root;
    }
    for (const ChunkRef& c : item.chunks) {
      Chunk& ch = chunks_[c.id];
      if (ch.refcount == 0 && !ch.stored) ch.size = c.size;
      ++ch.refcount;
      device_chunks_.emplace(device_id, c.id);
      if (!ch.stored && nv.missing.insert(c.id).second) out[i].missing.push_back(c.id);
    }
    nv.v.state = nv.missing.empty() ? VersionState::kComplete : VersionState::kPendingChunks;
    out[i].version_id = nv.v.version_id;
    out[i].state = nv.v.state;
    files_[key] = nv.v.version_id;
    versions_[nv.v.version_id] = std::move(nv);
  }
  return out;
}

absl::StatusOr<ChunkStatus> FakeCatalogStore::GetChunk(const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = chunks_.find(id);
  if (it == chunks_.end()) return ChunkStatus{};
  return ChunkStatus{true, it->second.stored, it->second.size};
}

std::vector<int64_t> FakeCatalogStore::CompleteWaitingFor(const std::string& id) {
  std::vector<int64_t> done;
  for (auto& [vid, ver] : versions_) {
    if (ver.missing.erase(id) > 0 && ver.missing.empty()) {
      ver.v.state = VersionState::kComplete;
      done.push_back(vid);
    }
  }
  return done;
}

absl::StatusOr<std::vector<int64_t>> FakeCatalogStore::MarkChunkStored(const std::string& id,
                                                                      uint32_t size,
                                                                      uint64_t stored_size) {
  (void)stored_size;
  absl::MutexLock l(&mu_);
  auto it = chunks_.find(id);
  if (it == chunks_.end()) {
    return absl::NotFoundError("chunk is not referenced by any reported file");
  }
  it->second.stored = true;
  it->second.size = size;
  return CompleteWaitingFor(id);
}

absl::StatusOr<std::vector<bool>> FakeCatalogStore::DeviceMayRead(
    int64_t device_id, const std::vector<std::string>& ids) {
  absl::MutexLock l(&mu_);
  std::vector<bool> out;
  for (const std::string& id : ids) {
    auto it = chunks_.find(id);
    out.push_back(device_chunks_.count({device_id, id}) > 0 && it != chunks_.end() &&
                  it->second.stored);
  }
  return out;
}

absl::StatusOr<std::vector<bool>> FakeCatalogStore::ChunksStored(
    const std::vector<std::string>& ids) {
  absl::MutexLock l(&mu_);
  std::vector<bool> out;
  for (const std::string& id : ids) {
    auto it = chunks_.find(id);
    out.push_back(it != chunks_.end() && it->second.stored);
  }
  return out;
}

absl::StatusOr<VersionPage> FakeCatalogStore::ListVersions(int64_t device_id,
                                                          const VersionQuery& q) {
  absl::MutexLock l(&mu_);
  const uint32_t limit = q.limit == 0 ? 1000 : std::min<uint32_t>(q.limit, 10000);
  std::set<int64_t> current;
  for (const auto& [key, vid] : files_) current.insert(vid);
  VersionPage page;
  for (const auto& [vid, ver] : versions_) {
    if (ver.device_id != device_id || vid <= q.after_version_id) continue;
    if (!q.folder.empty() && ver.v.folder != q.folder) continue;
    if (!q.path.empty() && ver.v.path != q.path &&
        !absl::StartsWith(ver.v.path, absl::StrCat(q.path, "/"))) {
      continue;
    }
    if (!q.all_versions && (!current.count(vid) || ver.v.deleted_unix_ms != 0)) continue;
    page.versions.push_back(ver.v);
    if (page.versions.size() == limit) {
      page.next_after_version_id = vid;
      break;
    }
  }
  return page;
}

void FakeCatalogStore::SetDamagedFiles(int64_t device_id, std::vector<DamagedFile> files) {
  absl::MutexLock l(&mu_);
  damaged_[device_id] = std::move(files);
}

HeartbeatFacts FakeCatalogStore::LastHeartbeat(int64_t device_id) {
  absl::MutexLock l(&mu_);
  return heartbeats_[device_id];
}

void FakeCatalogStore::MarkChunkLost(const std::string& id) {
  absl::MutexLock l(&mu_);
  chunks_[id].stored = false;
}

FileVersion FakeCatalogStore::Version(int64_t version_id) {
  absl::MutexLock l(&mu_);
  auto it = versions_.find(version_id);
  return it == versions_.end() ? FileVersion{} : it->second.v;
}

int FakeCatalogStore::report_calls() {
  absl::MutexLock l(&mu_);
  return report_calls_;
}

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
    ++j.job.attempt;
    j.job.lease_token = absl::StrCat("token-", next_token_++, "-", id);
    j.job.lease_deadline_unix_ms = now_ms_ + p.lease_ms;
    out.push_back(j.job);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.job_id < b.job_id; });
  return out;
}

absl::StatusOr<LeaseRenewal> FakeQueueStore::RenewLease(int64_t job_id, const std::string& token,
                                                        uint32_t lease_ms) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
  QueuedJob& j = it->second;
  const bool mine = j.job.lease_token == token;
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
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", c.job_id, " does not exist"));
  QueuedJob& j = it->second;
  const bool mine = j.job.lease_token == c.lease_token;
  if (mine && j.state == JobState::kLeased && j.job.lease_deadline_unix_ms >= now_ms_) {
    const bool bad_copy = j.job.kind == JobKind::kVerify && !c.verified_ok;
    j.state = bad_copy ? JobState::kDead : JobState::kDone;
    j.completion = c;
    return absl::OkStatus();
  }
  if (mine && (j.state == JobState::kDone || j.state == JobState::kDead)) return absl::OkStatus();
  if (mine && j.state == JobState::kCancelled) {
    return absl::FailedPreconditionError(absl::StrCat("job ", c.job_id, " was cancelled"));
  }
  return absl::FailedPreconditionError(absl::StrCat("job ", c.job_id, ": the lease was lost"));
}

absl::StatusOr<FailOutcome> FakeQueueStore::FailJob(const FailParams& p) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(p.job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", p.job_id, " does not exist"));
  QueuedJob& j = it->second;
  const bool mine = j.job.lease_token == p.lease_token;
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
  if (!p.retryable || j.job.attempt >= p.max_attempts) {
    j.state = JobState::kDead;
    if (!p.retryable) j.last_error = absl::StrCat(p.error, " (permanent)");
    return FailOutcome{JobState::kDead, 0};
  }
  j.state = JobState::kRetryWait;
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
    if (!Selected(sel, id, j)) continue;
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

absl::StatusOr<uint64_t> FakeQueueStore::SetJobPriority(const JobSelection& sel,
                                                        int32_t priority) {
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
  for (const auto& [id, d] : destinations_) out.push_back(d);
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
    return absl::NotFoundError(absl::StrCat("destination: no destination named '", destination, "'"));
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

// --- FakeIdentityStore ---------------------------------------------------------

absl::Status FakeIdentityStore::Audit(const AuditEntry& e) {
  absl::MutexLock l(&mu_);
  audit_.push_back(e);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditEntry>> FakeIdentityStore::RecentAudit(uint32_t limit) {
  absl::MutexLock l(&mu_);
  std::vector<AuditEntry> out(audit_.rbegin(), audit_.rend());
  if (out.size() > limit) out.resize(limit);
  return out;
}

absl::Status FakeIdentityStore::CreateEnrollToken(const std::string& token_sha256,
                                                  const std::string& device,
                                                  const std::string& worker,
                                                  int64_t expires_unix_ms) {
  absl::MutexLock l(&mu_);
  if (tokens_.count(token_sha256)) return absl::AlreadyExistsError("enroll token exists");
  tokens_[token_sha256] = Token{device, worker, "", expires_unix_ms, false};
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeIdentityStore::ConsumeEnrollToken(const std::string& token_sha256,
                                                                  const std::string& role,
                                                                  const std::string& used_by) {
  absl::MutexLock l(&mu_);
  auto it = tokens_.find(token_sha256);
  if (it == tokens_.end()) return absl::NotFoundError("enroll token is not known");
  Token& t = it->second;
  if (t.used) return absl::FailedPreconditionError("enroll token was already used");
  if (t.expires_ms < now_ms_) return absl::FailedPreconditionError("enroll token expired");
  const std::string token_role = t.device.empty() ? "worker" : "device";
  if (token_role != role) {
    return absl::PermissionDeniedError(absl::StrCat("enroll token is for a ", token_role));
  }
  t.used = true;
  t.used_by = used_by;
  return t.device.empty() ? t.worker : t.device;
}

absl::Status FakeIdentityStore::RecordCertificate(const CertificateRow& c) {
  absl::MutexLock l(&mu_);
  certs_.emplace(c.serial, c);
  return absl::OkStatus();
}

absl::StatusOr<CertificateRow> FakeIdentityStore::GetCertificate(const std::string& serial) {
  absl::MutexLock l(&mu_);
  auto it = certs_.find(serial);
  if (it == certs_.end()) return absl::NotFoundError(absl::StrCat("certificate ", serial));
  return it->second;
}

absl::StatusOr<uint64_t> FakeIdentityStore::RevokeIdentity(const std::string& role,
                                                           const std::string& name) {
  absl::MutexLock l(&mu_);
  bool any = false;
  uint64_t n = 0;
  for (auto& [serial, c] : certs_) {
    if (c.role != role || c.name != name) continue;
    any = true;
    if (c.revoked_unix_ms == 0) {
      c.revoked_unix_ms = now_ms_;
      ++n;
    }
  }
  if (!any) return absl::NotFoundError(absl::StrCat("no certificate was issued to ", role, " '", name, "'"));
  return n;
}

absl::StatusOr<std::vector<CertificateRow>> FakeIdentityStore::ListCertificates() {
  absl::MutexLock l(&mu_);
  std::vector<CertificateRow> out;
  for (const auto& [serial, c] : certs_) out.push_back(c);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.issued_unix_ms > b.issued_unix_ms; });
  return out;
}

void FakeIdentityStore::SetNowMs(int64_t now_ms) {
  absl::MutexLock l(&mu_);
  now_ms_ = now_ms;
}

// --- FakeStatusStore -----------------------------------------------------------

absl::StatusOr<StatusSummary> FakeStatusStore::GetStatus(uint32_t worker_stale_ms) {
  absl::MutexLock l(&mu_);
  last_worker_stale_ms_ = worker_stale_ms;
  return summary_;
}

void FakeStatusStore::set_summary(StatusSummary s) {
  absl::MutexLock l(&mu_);
  summary_ = std::move(s);
}

uint32_t FakeStatusStore::last_worker_stale_ms() {
  absl::MutexLock l(&mu_);
  return last_worker_stale_ms_;
}

// --- FakeVerifyStore -----------------------------------------------------------

absl::StatusOr<uint64_t> FakeVerifyStore::CountStoredChunks() {
  absl::MutexLock l(&mu_);
  return scrub_queue_.size();
}

absl::StatusOr<std::vector<ScrubItem>> FakeVerifyStore::NextScrubBatch(uint32_t limit) {
  absl::MutexLock l(&mu_);
  std::vector<ScrubItem> out;
  for (const ScrubItem& item : scrub_queue_) {
    if (out.size() >= limit) break;
    out.push_back(item);
  }
  return out;
}

absl::Status FakeVerifyStore::MarkScrubbed(const std::vector<std::string>& ids) {
  absl::MutexLock l(&mu_);
  for (const std::string& id : ids) {
    scrubbed_.push_back(id);
    auto it = std::find_if(scrub_queue_.begin(), scrub_queue_.end(),
                           [&](const ScrubItem& s) { return s.id == id; });
    if (it == scrub_queue_.end()) continue;
    ScrubItem item = *it;
    scrub_queue_.erase(it);
    scrub_queue_.push_back(item);  // scrubbed just now: last in line
  }
  return absl::OkStatus();
}

absl::Status FakeVerifyStore::RecordDamage(const std::string& id, const std::string& error) {
  absl::MutexLock l(&mu_);
  damage_[id] = error;
  // Not stored any more: a scrub does not read it again.
  scrub_queue_.erase(std::remove_if(scrub_queue_.begin(), scrub_queue_.end(),
                                    [&](const ScrubItem& s) { return s.id == id; }),
                     scrub_queue_.end());
  return absl::OkStatus();
}

absl::Status FakeVerifyStore::MarkRepaired(const std::string& id, const std::string& by) {
  (void)by;
  absl::MutexLock l(&mu_);
  damage_.erase(id);
  repaired_.insert(id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<shoebox::v1::DamagedChunk>> FakeVerifyStore::OpenDamage(
    bool queue_repairs, uint64_t* repairs_queued) {
  (void)queue_repairs;
  absl::MutexLock l(&mu_);
  std::vector<shoebox::v1::DamagedChunk> out;
  for (const auto& [id, error] : damage_) {
    auto& d = out.emplace_back();
    d.set_id(id);
    d.set_error(error);
  }
  if (repairs_queued != nullptr) *repairs_queued = 0;
  return out;
}

absl::StatusOr<uint64_t> FakeVerifyStore::QueueRemoteChecks(const std::string& destination,
                                                            double percent) {
  (void)destination;
  (void)percent;
  return 0;
}

absl::StatusOr<std::vector<shoebox::v1::FileVersion>> FakeVerifyStore::SampleCurrentVersions(
    uint32_t n) {
  (void)n;
  return std::vector<shoebox::v1::FileVersion>{};
}

absl::StatusOr<int64_t> FakeVerifyStore::StartRun(const std::string& trigger,
                                                  double scrub_percent) {
  (void)scrub_percent;
  absl::MutexLock l(&mu_);
  const int64_t id = next_run_++;
  runs_[id].trigger = trigger;
  return id;
}

absl::StatusOr<int64_t> FakeVerifyStore::ClaimScheduledRun(uint64_t interval_ms,
                                                           double scrub_percent) {
  (void)interval_ms;
  (void)scrub_percent;
  return 0;  // never due
}

absl::Status FakeVerifyStore::FinishRun(int64_t run_id, const shoebox::v1::VerifyResponse& r,
                                        const std::string& error) {
  absl::MutexLock l(&mu_);
  Run& run = runs_[run_id];
  run.finished = true;
  run.error = error;
  run.result = r;
  return absl::OkStatus();
}

absl::Status FakeVerifyStore::FillRepairNeeds(std::vector<shoebox::v1::Job>* jobs) {
  absl::MutexLock l(&mu_);
  for (shoebox::v1::Job& j : *jobs) {
    if (j.kind() != shoebox::v1::JOB_KIND_VERIFY) continue;
    for (const auto& c : j.file().chunks()) {
      if (damage_.count(c.id())) j.add_repair_chunk_ids(c.id());
    }
  }
  return absl::OkStatus();
}

absl::Status FakeVerifyStore::CheckRepairLease(int64_t job_id, const std::string& token,
                                               const std::string& chunk_id) {
  (void)chunk_id;
  absl::MutexLock l(&mu_);
  if (!repair_leases_.count({job_id, token})) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, ": no live lease"));
  }
  return absl::OkStatus();
}

absl::Status FakeVerifyStore::AddToStatus(shoebox::v1::StatusResponse* resp) {
  absl::MutexLock l(&mu_);
  resp->set_damaged_chunks(damage_.size());
  return absl::OkStatus();
}

void FakeVerifyStore::AddStoredChunk(const std::string& id, uint32_t size) {
  absl::MutexLock l(&mu_);
  scrub_queue_.push_back(ScrubItem{id, size});
}

void FakeVerifyStore::AllowRepair(int64_t job_id, const std::string& token) {
  absl::MutexLock l(&mu_);
  repair_leases_.emplace(job_id, token);
}

std::map<std::string, std::string> FakeVerifyStore::open_damage() {
  absl::MutexLock l(&mu_);
  return damage_;
}

std::set<std::string> FakeVerifyStore::repaired() {
  absl::MutexLock l(&mu_);
  return repaired_;
}

std::vector<std::string> FakeVerifyStore::scrubbed() {
  absl::MutexLock l(&mu_);
  return scrubbed_;
}

std::map<int64_t, FakeVerifyStore::Run> FakeVerifyStore::runs() {
  absl::MutexLock l(&mu_);
  return runs_;
}

// --- FakeChunkStore ------------------------------------------------------------

absl::Status FakeChunkStore::Put(const ChunkId& id, std::string_view blob) {
  absl::MutexLock l(&mu_);
  blobs_[DigestToString(id)] = std::string(blob);
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeChunkStore::Get(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  auto it = blobs_.find(DigestToString(id));
  if (it == blobs_.end()) return absl::NotFoundError("chunk is not in the memory store");
  return it->second;
}

absl::StatusOr<bool> FakeChunkStore::Has(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  return blobs_.count(DigestToString(id)) > 0;
}

absl::Status FakeChunkStore::Delete(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  blobs_.erase(DigestToString(id));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FakeChunkStore::Stat(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  auto it = blobs_.find(DigestToString(id));
  if (it == blobs_.end()) return absl::NotFoundError("chunk is not in the memory store");
  return it->second.size();
}

absl::Status FakeChunkStore::List(const std::function<absl::Status(const ChunkId&)>& fn) {
  std::vector<std::string> ids;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, blob] : blobs_) ids.push_back(id);
  }
  for (const std::string& s : ids) {
    ChunkId id;
    DigestFromString(s, &id);
    RETURN_IF_ERROR(fn(id));
  }
  return absl::OkStatus();
}

void FakeChunkStore::Overwrite(const ChunkId& id, std::string blob) {
  absl::MutexLock l(&mu_);
  blobs_[DigestToString(id)] = std::move(blob);
}

size_t FakeChunkStore::size() {
  absl::MutexLock l(&mu_);
  return blobs_.size();
}

}  // namespace shoebox::coordinator
