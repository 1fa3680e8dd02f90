// In-memory identity, status and verification fakes for unit tests. See fake_stores.h.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {

// --- FakeIdentityStore ---------------------------------------------------------

absl::Status FakeIdentityStore::Audit(const AuditEntry& e) {
  absl::MutexLock l(&mu_);
  audit_.push_back(e);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> FakeIdentityStore::InsertAudit(const AuditEntry& e) {
  absl::MutexLock l(&mu_);
  audit_.push_back(e);
  return static_cast<int64_t>(audit_.size());  // 1-based index
}

absl::Status FakeIdentityStore::AddAuditCount(int64_t id, uint64_t n) {
  absl::MutexLock l(&mu_);
  if (id < 1 || static_cast<size_t>(id) > audit_.size())
    return absl::NotFoundError(absl::StrCat("audit row ", id));
  audit_[id - 1].count += n;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FakeIdentityStore::PruneAudit(uint32_t keep_days, uint64_t max_rows) {
  (void)keep_days;  // entries carry no time here
  absl::MutexLock l(&mu_);
  if (max_rows == 0 || audit_.size() <= max_rows) return 0;
  const uint64_t n = audit_.size() - max_rows;
  audit_.erase(audit_.begin(), audit_.begin() + n);
  return n;
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
                                                                  const std::string& used_by,
                                                                  const IssueForName& issue) {
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
  const std::string name = t.device.empty() ? t.worker : t.device;
  absl::StatusOr<CertificateRow> cert = issue(name);
  if (!cert.ok()) return cert.status();
  certs_.emplace(cert->serial, *cert);
  t.used = true;
  t.used_by = used_by;
  return name;
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
  if (!any)
    return absl::NotFoundError(
        absl::StrCat("no certificate was issued to ", role, " '", name, "'"));
  return n;
}

absl::StatusOr<CertificateRow> FakeIdentityStore::RevokeCertificate(const std::string& serial) {
  absl::MutexLock l(&mu_);
  auto it = certs_.find(serial);
  if (it == certs_.end())
    return absl::NotFoundError(absl::StrCat("no certificate has serial ", serial));
  CertificateRow before = it->second;
  if (before.revoked_unix_ms != 0) return before;
  if (before.role == "admin") {
    int others = 0;
    for (const auto& [s, c] : certs_)
      if (s != serial && c.role == "admin" && c.revoked_unix_ms == 0 &&
          (c.expires_unix_ms == 0 || c.expires_unix_ms > now_ms_))
        ++others;
    if (others == 0)
      return absl::FailedPreconditionError(
          absl::StrCat("certificate ", serial, " is the last valid admin certificate"));
  }
  it->second.revoked_unix_ms = now_ms_;
  return before;
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

absl::StatusOr<std::vector<DamagedChunk>> FakeVerifyStore::OpenDamage(bool queue_repairs,
                                                                      uint64_t* repairs_queued) {
  (void)queue_repairs;
  absl::MutexLock l(&mu_);
  std::vector<DamagedChunk> out;
  for (const auto& [id, error] : damage_) {
    DamagedChunk& d = out.emplace_back();
    d.id = id;
    d.error = error;
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

absl::StatusOr<std::vector<FileVersion>> FakeVerifyStore::SampleCurrentVersions(uint32_t n) {
  absl::MutexLock l(&mu_);
  std::vector<FileVersion> out(samples_.begin(),
                               samples_.begin() + std::min<size_t>(n, samples_.size()));
  return out;
}

void FakeVerifyStore::AddSample(const FileVersion& v) {
  absl::MutexLock l(&mu_);
  samples_.push_back(v);
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

absl::Status FakeVerifyStore::FinishRun(int64_t run_id, const VerifyRunResult& r,
                                        const std::string& error) {
  absl::MutexLock l(&mu_);
  Run& run = runs_[run_id];
  run.finished = true;
  run.error = error;
  run.result = r;
  return absl::OkStatus();
}

absl::StatusOr<std::set<std::string>> FakeVerifyStore::OpenDamageAmong(
    const std::vector<std::string>& chunk_ids) {
  absl::MutexLock l(&mu_);
  std::set<std::string> out;
  for (const std::string& id : chunk_ids) {
    if (damage_.count(id)) out.insert(id);
  }
  return out;
}

absl::Status FakeVerifyStore::CheckRepairLease(int64_t job_id, const std::string& token,
                                               const std::string& chunk_id,
                                               const std::string& worker) {
  (void)chunk_id;
  (void)worker;
  absl::MutexLock l(&mu_);
  if (!repair_leases_.count({job_id, token})) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, ": no live lease"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CopySummary> FakeVerifyStore::GetCopySummary() {
  absl::MutexLock l(&mu_);
  CopySummary s;
  s.damaged_chunks = damage_.size();
  return s;
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

}  // namespace shoebox::coordinator
