#include "coordinator/admin.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/status.h"

namespace shoebox::coordinator {

namespace {

bool ValidDestinationName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

absl::Status ValidateStates(const google::protobuf::RepeatedField<int>& states) {
  for (int i = 0; i < states.size(); ++i) {
    if (!shoebox::v1::JobState_IsValid(states[i]) ||
        states[i] == shoebox::v1::JOB_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("states[", i, "]: unknown job state ",
                                                     states[i]));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void Admin::AuditOk(const std::string& admin, const std::string& action,
                    const std::string& target, const std::string& detail) {
  AuditEntry e{"admin", admin, action, target, true, detail};
  absl::Status st = store_->Audit(e);
  if (!st.ok()) SPDLOG_ERROR("event=audit_failed action={} error=\"{}\"", action, std::string(st.message()));
}

absl::StatusOr<shoebox::v1::Destination> Admin::CreateDestination(
    const std::string& admin, const shoebox::v1::CreateDestinationRequest& req) {
  if (!ValidDestinationName(req.name())) {
    return absl::InvalidArgumentError(
        "name: 1 to 64 characters of letters, digits, '.', '-' and '_'");
  }
  if (req.kind().empty() || req.kind().size() > 64) {
    return absl::InvalidArgumentError("kind: name the connector kind (local, s3, webdav, ...)");
  }
  if (!req.settings_json().empty()) {
    nlohmann::json j = nlohmann::json::parse(req.settings_json(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError("settings_json: must be a JSON object");
    }
  }
  ASSIGN_OR_RETURN(shoebox::v1::Destination d, store_->CreateDestination(req));
  AuditOk(admin, "CreateDestination", req.name(), absl::StrCat("kind=", req.kind()));
  return d;
}

absl::StatusOr<shoebox::v1::ListDestinationsResponse> Admin::ListDestinations() {
  ASSIGN_OR_RETURN(auto list, store_->ListDestinations());
  shoebox::v1::ListDestinationsResponse resp;
  for (auto& d : list) *resp.add_destinations() = std::move(d);
  return resp;
}

absl::StatusOr<shoebox::v1::BindFolderResponse> Admin::BindFolder(
    const std::string& admin, const shoebox::v1::BindFolderRequest& req) {
  if (req.device().empty()) return absl::InvalidArgumentError("device: name the device");
  if (req.destination().empty()) {
    return absl::InvalidArgumentError("destination: name the destination");
  }
  if (!req.folder().empty()) RETURN_IF_ERROR(ValidateAbsolutePath(req.folder(), "folder"));
  ASSIGN_OR_RETURN(uint64_t n, store_->BindFolder(req.device(), req.folder(), req.destination(),
                                                  req.backfill()));
  AuditOk(admin, "BindFolder", req.destination(),
          absl::StrCat("device=", req.device(), " folder=", PrintablePath(req.folder()),
                       " backfill_jobs=", n));
  shoebox::v1::BindFolderResponse resp;
  resp.set_jobs_created(n);
  return resp;
}

absl::StatusOr<shoebox::v1::ListDevicesResponse> Admin::ListDevices() {
  ASSIGN_OR_RETURN(auto list, store_->ListDevices());
  shoebox::v1::ListDevicesResponse resp;
  for (auto& d : list) *resp.add_devices() = std::move(d);
  return resp;
}

absl::StatusOr<shoebox::v1::StatusResponse> Admin::GetStatus() {
  return store_->GetStatus(limits_.worker_stale_ms);
}

absl::StatusOr<shoebox::v1::ListJobsResponse> Admin::ListJobs(
    const shoebox::v1::ListJobsRequest& req) {
  RETURN_IF_ERROR(ValidateStates(req.states()));
  ASSIGN_OR_RETURN(auto jobs, store_->ListJobs(req, limits_.worker_stale_ms));
  shoebox::v1::ListJobsResponse resp;
  for (auto& j : jobs) *resp.add_jobs() = std::move(j);
  return resp;
}

absl::StatusOr<shoebox::v1::JobActionResponse> Admin::CancelJobs(
    const std::string& admin, const shoebox::v1::JobSelector& sel) {
  RETURN_IF_ERROR(ValidateStates(sel.states()));
  if (sel.job_ids().empty() && sel.destination().empty() && sel.states().empty()) {
    return absl::InvalidArgumentError(
        "job_ids: give job IDs, a destination or states; refusing to cancel every job");
  }
  ASSIGN_OR_RETURN(uint64_t n, store_->CancelJobs(sel));
  AuditOk(admin, "CancelJobs", sel.destination(),
          absl::StrCat("ids=", sel.job_ids_size(), " affected=", n));
  shoebox::v1::JobActionResponse resp;
  resp.set_affected(n);
  return resp;
}

absl::StatusOr<shoebox::v1::JobActionResponse> Admin::SetJobPriority(
    const std::string& admin, const shoebox::v1::SetJobPriorityRequest& req) {
  const shoebox::v1::JobSelector& sel = req.selector();
  RETURN_IF_ERROR(ValidateStates(sel.states()));
  if (sel.job_ids().empty() && sel.destination().empty() && sel.states().empty()) {
    return absl::InvalidArgumentError(
        "selector: give job IDs, a destination or states to choose the jobs to reprioritise");
  }
  if (req.priority() < -1000 || req.priority() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority: ", req.priority(), " is outside -1000..1000"));
  }
  ASSIGN_OR_RETURN(uint64_t n, store_->SetJobPriority(sel, req.priority()));
  AuditOk(admin, "SetJobPriority", sel.destination(),
          absl::StrCat("ids=", sel.job_ids_size(), " priority=", req.priority(), " affected=", n));
  shoebox::v1::JobActionResponse resp;
  resp.set_affected(n);
  return resp;
}

absl::StatusOr<shoebox::v1::JobActionResponse> Admin::RetryJobs(
    const std::string& admin, const shoebox::v1::JobSelector& sel) {
  RETURN_IF_ERROR(ValidateStates(sel.states()));
  shoebox::v1::JobSelector s = sel;
  if (s.job_ids().empty() && s.states().empty()) s.add_states(shoebox::v1::JOB_STATE_DEAD);
  ASSIGN_OR_RETURN(uint64_t n, store_->RetryJobs(s));
  AuditOk(admin, "RetryJobs", sel.destination(),
          absl::StrCat("ids=", sel.job_ids_size(), " affected=", n));
  shoebox::v1::JobActionResponse resp;
  resp.set_affected(n);
  return resp;
}

absl::StatusOr<shoebox::v1::CreateEnrollTokenResponse> Admin::CreateEnrollToken(
    const std::string& admin, const shoebox::v1::CreateEnrollTokenRequest& req) {
  if (req.device().empty() == req.worker().empty()) {
    return absl::InvalidArgumentError("device: give exactly one of device and worker");
  }
  uint8_t raw[24];
  SecureRandom(raw, sizeof raw);
  const std::string token = ToHex(ByteSpan(raw, sizeof raw));
  const uint32_t ttl = req.ttl_seconds() == 0 ? 86400 : req.ttl_seconds();
  const int64_t expires = absl::ToUnixMillis(absl::Now()) + int64_t{ttl} * 1000;
  RETURN_IF_ERROR(store_->CreateEnrollToken(DigestToString(Sha256::Of(token)), req.device(),
                                            req.worker(), expires));
  AuditOk(admin, "CreateEnrollToken", req.device().empty() ? req.worker() : req.device(),
          absl::StrCat("ttl_seconds=", ttl));
  shoebox::v1::CreateEnrollTokenResponse resp;
  resp.set_token(token);
  resp.set_expires_unix_ms(expires);
  return resp;
}

absl::StatusOr<shoebox::v1::ListVersionsResponse> Admin::ListVersions(
    const shoebox::v1::ListVersionsRequest& req) {
  return catalog_->ListVersionsOf(req);
}

}  // namespace shoebox::coordinator
