#include "coordinator/admin.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/proto_convert.h"
#include "coordinator/status_problems.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

void Admin::AuditOk(const std::string& admin, const std::string& action, const std::string& target,
                    const std::string& detail) {
  AuditEntry e{"admin", admin, action, target, true, detail};
  absl::Status st = stores_.identity->Audit(e);
  if (!st.ok())
    SPDLOG_ERROR("event=audit_failed action={} error=\"{}\"", action, std::string(st.message()));
}

absl::StatusOr<shoebox::v1::Destination> Admin::CreateDestination(
    const std::string& admin, const shoebox::v1::CreateDestinationRequest& req) {
  RETURN_IF_ERROR(ValidateCreateDestination(req));  // coordinator/validate.h
  ASSIGN_OR_RETURN(Destination d, stores_.destinations->CreateDestination(FromProto(req)));
  AuditOk(admin, "CreateDestination", req.name(), absl::StrCat("kind=", req.kind()));
  return ToProto(d);
}

absl::StatusOr<shoebox::v1::ListDestinationsResponse> Admin::ListDestinations() {
  ASSIGN_OR_RETURN(std::vector<Destination> list, stores_.destinations->ListDestinations());
  shoebox::v1::ListDestinationsResponse resp;
  for (const Destination& d : list) *resp.add_destinations() = ToProto(d);
  return resp;
}

absl::StatusOr<shoebox::v1::BindFolderResponse> Admin::BindFolder(
    const std::string& admin, const shoebox::v1::BindFolderRequest& req) {
  RETURN_IF_ERROR(ValidateBindFolder(req));
  ASSIGN_OR_RETURN(uint64_t n, stores_.destinations->BindFolder(req.device(), req.folder(),
                                                                req.destination(), req.backfill()));
  AuditOk(admin, "BindFolder", req.destination(),
          absl::StrCat("device=", req.device(), " folder=", PrintablePath(req.folder()),
                       " backfill_jobs=", n));
  shoebox::v1::BindFolderResponse resp;
  resp.set_jobs_created(n);
  return resp;
}

absl::StatusOr<shoebox::v1::ListDevicesResponse> Admin::ListDevices() {
  ASSIGN_OR_RETURN(std::vector<DeviceRow> list, stores_.catalog->ListDevices());
  shoebox::v1::ListDevicesResponse resp;
  for (const DeviceRow& d : list) *resp.add_devices() = ToProto(d);
  return resp;
}

absl::StatusOr<shoebox::v1::StatusResponse> Admin::GetStatus() {
  ASSIGN_OR_RETURN(StatusSummary summary, stores_.status->GetStatus(limits_.worker_stale_ms));
  summary.problems = StatusProblems(summary);
  shoebox::v1::StatusResponse resp = ToProto(summary);
  // Copies per file, damaged chunks, last verify run (issue 7).
  ASSIGN_OR_RETURN(CopySummary copies, stores_.verify->GetCopySummary());
  AddToProto(copies, &resp);
  return resp;
}

absl::StatusOr<shoebox::v1::ListJobsResponse> Admin::ListJobs(
    const shoebox::v1::ListJobsRequest& req) {
  RETURN_IF_ERROR(ValidateJobFilter(req.states(), req.destination()));
  ASSIGN_OR_RETURN(std::vector<JobRow> jobs,
                   stores_.queue->ListJobs(FromProto(req), limits_.worker_stale_ms));
  shoebox::v1::ListJobsResponse resp;
  for (const JobRow& j : jobs) *resp.add_jobs() = ToProto(j);
  return resp;
}

absl::StatusOr<shoebox::v1::JobActionResponse> Admin::CancelJobs(
    const std::string& admin, const shoebox::v1::JobSelector& sel) {
  RETURN_IF_ERROR(ValidateCancelJobs(sel));
  ASSIGN_OR_RETURN(uint64_t n, stores_.queue->CancelJobs(FromProto(sel)));
  AuditOk(admin, "CancelJobs", sel.destination(),
          absl::StrCat("ids=", sel.job_ids_size(), " affected=", n));
  shoebox::v1::JobActionResponse resp;
  resp.set_affected(n);
  return resp;
}

absl::StatusOr<shoebox::v1::JobActionResponse> Admin::SetJobPriority(
    const std::string& admin, const shoebox::v1::SetJobPriorityRequest& req) {
  const shoebox::v1::JobSelector& sel = req.selector();
  RETURN_IF_ERROR(ValidateSetJobPriority(req));
  ASSIGN_OR_RETURN(uint64_t n, stores_.queue->SetJobPriority(FromProto(sel), req.priority()));
  AuditOk(admin, "SetJobPriority", sel.destination(),
          absl::StrCat("ids=", sel.job_ids_size(), " priority=", req.priority(), " affected=", n));
  shoebox::v1::JobActionResponse resp;
  resp.set_affected(n);
  return resp;
}

absl::StatusOr<shoebox::v1::JobActionResponse> Admin::RetryJobs(
    const std::string& admin, const shoebox::v1::JobSelector& sel) {
  RETURN_IF_ERROR(ValidateJobFilter(sel.states(), sel.destination()));
  shoebox::v1::JobSelector s = sel;
  if (s.job_ids().empty() && s.states().empty()) s.add_states(shoebox::v1::JOB_STATE_DEAD);
  ASSIGN_OR_RETURN(uint64_t n, stores_.queue->RetryJobs(FromProto(s)));
  AuditOk(admin, "RetryJobs", sel.destination(),
          absl::StrCat("ids=", sel.job_ids_size(), " affected=", n));
  shoebox::v1::JobActionResponse resp;
  resp.set_affected(n);
  return resp;
}

absl::StatusOr<shoebox::v1::CreateEnrollTokenResponse> Admin::CreateEnrollToken(
    const std::string& admin, const shoebox::v1::CreateEnrollTokenRequest& req) {
  RETURN_IF_ERROR(ValidateCreateEnrollToken(req));  // names and ttl
  const std::string& name = req.device().empty() ? req.worker() : req.device();
  if (enrollment_ == nullptr) {
    return absl::FailedPreconditionError(
        "this coordinator runs --insecure-dev (identities come from metadata); enrollment needs "
        "TLS: "
        "restart it without insecure_dev");
  }
  auto [token, hash] = enrollment_->NewToken();
  const uint32_t ttl = req.ttl_seconds() == 0 ? 86400 : req.ttl_seconds();
  const int64_t expires = absl::ToUnixMillis(absl::Now()) + int64_t{ttl} * 1000;
  RETURN_IF_ERROR(stores_.identity->CreateEnrollToken(hash, req.device(), req.worker(), expires));
  AuditOk(admin, "CreateEnrollToken",
          absl::StrCat(req.device().empty() ? "worker:" : "device:", name),
          absl::StrCat("ttl_seconds=", ttl));
  if (req.worker_kinds_size() + req.worker_destinations_size() > 0) {
    shoebox::v1::SetWorkerScopeRequest scope;
    scope.set_worker(req.worker());
    *scope.mutable_kinds() = req.worker_kinds();
    *scope.mutable_destinations() = req.worker_destinations();
    RETURN_IF_ERROR(SetWorkerScope(admin, scope));
  }
  shoebox::v1::CreateEnrollTokenResponse resp;
  resp.set_token(token);
  resp.set_expires_unix_ms(expires);
  return resp;
}

absl::Status Admin::SetWorkerScope(const std::string& admin,
                                   const shoebox::v1::SetWorkerScopeRequest& req) {
  RETURN_IF_ERROR(ValidateSetWorkerScope(req));  // coordinator/validate.h
  WorkerScope scope;
  if (req.kinds_size() > 0) scope.kinds.emplace(req.kinds().begin(), req.kinds().end());
  if (req.destinations_size() > 0) {
    scope.destinations.emplace(req.destinations().begin(), req.destinations().end());
  }
  RETURN_IF_ERROR(stores_.queue->SetWorkerScope(req.worker(), scope));
  AuditOk(admin, "SetWorkerScope", absl::StrCat("worker:", req.worker()),
          absl::StrCat("kinds=", req.kinds_size() ? absl::StrJoin(req.kinds(), ",") : "any",
                       " destinations=",
                       req.destinations_size() ? absl::StrJoin(req.destinations(), ",") : "any"));
  return absl::OkStatus();
}

absl::StatusOr<shoebox::v1::ListCertificatesResponse> Admin::ListCertificates() {
  ASSIGN_OR_RETURN(std::vector<CertificateRow> rows, stores_.identity->ListCertificates());
  shoebox::v1::ListCertificatesResponse resp;
  for (const CertificateRow& r : rows) {
    auto* c = resp.add_certificates();
    c->set_serial(r.serial);
    c->set_role(r.role);
    c->set_name(r.name);
    c->set_fingerprint(r.fingerprint);
    c->set_issued_unix_ms(r.issued_unix_ms);
    c->set_expires_unix_ms(r.expires_unix_ms);
    c->set_revoked_unix_ms(r.revoked_unix_ms);
  }
  return resp;
}

absl::StatusOr<shoebox::v1::RevokeResponse> Admin::Revoke(const std::string& admin,
                                                          const shoebox::v1::RevokeRequest& req) {
  RETURN_IF_ERROR(ValidateRevoke(req));
  if (!req.serial().empty()) {
    ASSIGN_OR_RETURN(CertificateRow was, stores_.identity->RevokeCertificate(req.serial()));
    if (auth_ != nullptr) auth_->ForgetCertificates();
    const uint64_t n = was.revoked_unix_ms == 0 ? 1 : 0;
    AuditOk(admin, "Revoke", absl::StrCat(was.role, ":", was.name, " serial ", was.serial),
            absl::StrCat("certificates=", n));
    shoebox::v1::RevokeResponse resp;
    resp.set_revoked(n);
    return resp;
  }
  const std::string role = req.device().empty() ? "worker" : "device";
  const std::string& name = req.device().empty() ? req.worker() : req.device();
  ASSIGN_OR_RETURN(uint64_t n, stores_.identity->RevokeIdentity(role, name));
  if (auth_ != nullptr) auth_->ForgetCertificates();
  AuditOk(admin, "Revoke", absl::StrCat(role, ":", name), absl::StrCat("certificates=", n));
  shoebox::v1::RevokeResponse resp;
  resp.set_revoked(n);
  return resp;
}

absl::StatusOr<shoebox::v1::ListVersionsResponse> Admin::ListVersions(
    const shoebox::v1::ListVersionsRequest& req) {
  return catalog_->ListVersionsOf(req);
}

}  // namespace shoebox::coordinator
