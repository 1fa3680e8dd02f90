// Admin: changing, removing, pausing and checking destinations, and the
// bindings (issue 16, docs/destinations.md). Settings are validated against
// the kind's declaration (common/destination_kinds.h) before the store sees
// them; every change is audited.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/admin.h"
#include "coordinator/proto_convert.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

// Keys of `patch`, for the audit log (never values: they may be anything).
std::string PatchKeys(const nlohmann::json& patch) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : patch.items()) keys.push_back(v.is_null() ? "-" + k : k);
  return absl::StrJoin(keys, ",");
}

}  // namespace

absl::StatusOr<shoebox::v1::UpdateDestinationResponse> Admin::UpdateDestination(
    const std::string& admin, const shoebox::v1::UpdateDestinationRequest& req) {
  RETURN_IF_ERROR(ValidateDestinationName(req.name()));
  ASSIGN_OR_RETURN(nlohmann::json patch,
                   ParseSettingsJson(req.settings_patch_json(), "settings_patch_json"));
  if (req.clear_credentials() && !req.sealed_credentials().empty()) {
    return absl::InvalidArgumentError(
        "clear_credentials: cannot both replace and clear the credentials");
  }
  if (req.has_layout()) RETURN_IF_ERROR(ValidateDestinationLayout(req.layout()));
  uint64_t dead = 0;
  auto change = [&](Destination& d) -> absl::Status {
    ASSIGN_OR_RETURN(nlohmann::json settings, ParseSettingsJson(d.settings_json, "settings"));
    for (const auto& [k, v] : patch.items()) {
      if (v.is_null()) {
        settings.erase(k);
      } else {
        settings[k] = v;
      }
    }
    if (!req.sealed_credentials().empty()) d.sealed_credentials = req.sealed_credentials();
    if (req.clear_credentials()) d.sealed_credentials.clear();
    RETURN_IF_ERROR(ValidateDestinationConfig(d.kind, settings, !d.sealed_credentials.empty()));
    d.settings_json = settings.dump();
    if (req.has_layout()) d.layout = req.layout();
    if (req.has_max_concurrency()) d.max_concurrency = req.max_concurrency();
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(Destination d,
                   stores_.destinations->UpdateDestination(req.name(), change, &dead));
  std::string detail = absl::StrCat("settings=", PatchKeys(patch));
  if (!req.sealed_credentials().empty()) absl::StrAppend(&detail, " credentials=replaced");
  if (req.clear_credentials()) absl::StrAppend(&detail, " credentials=cleared");
  if (req.has_layout()) absl::StrAppend(&detail, " layout");
  if (req.has_max_concurrency())
    absl::StrAppend(&detail, " max_concurrency=", req.max_concurrency());
  AuditOk(admin, "UpdateDestination", req.name(), detail);
  shoebox::v1::UpdateDestinationResponse resp;
  *resp.mutable_destination() = ToProto(d);
  resp.set_dead_jobs(dead);
  return resp;
}

absl::StatusOr<shoebox::v1::RemoveDestinationResponse> Admin::RemoveDestination(
    const std::string& admin, const shoebox::v1::RemoveDestinationRequest& req) {
  RETURN_IF_ERROR(ValidateDestinationName(req.name()));
  ASSIGN_OR_RETURN(DestinationRemoval r,
                   stores_.destinations->RemoveDestination(req.name(), req.force()));
  AuditOk(admin, "RemoveDestination", req.name(),
          absl::StrCat("force=", req.force(), " jobs_cancelled=", r.jobs_cancelled,
                       " bindings_removed=", r.bindings_removed,
                       " delivered_copies=", r.delivered_copies, " purged=", r.purged));
  shoebox::v1::RemoveDestinationResponse resp;
  resp.set_jobs_cancelled(r.jobs_cancelled);
  resp.set_bindings_removed(r.bindings_removed);
  resp.set_delivered_copies(r.delivered_copies);
  resp.set_purged(r.purged);
  return resp;
}

absl::StatusOr<shoebox::v1::Destination> Admin::PauseDestination(
    const std::string& admin, const shoebox::v1::PauseDestinationRequest& req) {
  RETURN_IF_ERROR(ValidateDestinationName(req.name()));
  ASSIGN_OR_RETURN(Destination d,
                   stores_.destinations->SetDestinationPaused(req.name(), req.paused()));
  AuditOk(admin, req.paused() ? "PauseDestination" : "ResumeDestination", req.name(), "");
  return ToProto(d);
}

absl::StatusOr<shoebox::v1::DestinationCheck> Admin::CheckDestination(
    const std::string& admin, const shoebox::v1::CheckDestinationRequest& req) {
  RETURN_IF_ERROR(ValidateDestinationName(req.name()));
  ASSIGN_OR_RETURN(
      DestinationCheckRow c,
      stores_.destinations->EnqueueCheck(req.name(), req.write_probe(), limits_.worker_stale_ms));
  AuditOk(admin, "CheckDestination", req.name(),
          absl::StrCat("job=", c.job_id, " write_probe=", req.write_probe()));
  return ToProto(c);
}

absl::StatusOr<shoebox::v1::DestinationCheck> Admin::GetDestinationCheck(
    const shoebox::v1::GetDestinationCheckRequest& req) {
  RETURN_IF_ERROR(ValidateDestinationName(req.name()));
  ASSIGN_OR_RETURN(DestinationCheckRow c, stores_.destinations->GetCheck(req.name(), req.job_id(),
                                                                         limits_.worker_stale_ms));
  return ToProto(c);
}

absl::StatusOr<shoebox::v1::ListBindingsResponse> Admin::ListBindings(
    const shoebox::v1::ListBindingsRequest& req) {
  RETURN_IF_ERROR(ValidateListBindings(req));
  ASSIGN_OR_RETURN(std::vector<BindingRow> rows,
                   stores_.destinations->ListBindings(req.device(), req.destination()));
  shoebox::v1::ListBindingsResponse resp;
  for (const BindingRow& b : rows) *resp.add_bindings() = ToProto(b);
  return resp;
}

absl::StatusOr<shoebox::v1::UnbindFolderResponse> Admin::UnbindFolder(
    const std::string& admin, const shoebox::v1::UnbindFolderRequest& req) {
  shoebox::v1::BindFolderRequest as_bind;  // the same fields, the same checks
  as_bind.set_device(req.device());
  as_bind.set_folder(req.folder());
  as_bind.set_destination(req.destination());
  RETURN_IF_ERROR(ValidateBindFolder(as_bind));
  ASSIGN_OR_RETURN(uint64_t n, stores_.destinations->UnbindFolder(req.device(), req.folder(),
                                                                  req.destination()));
  AuditOk(admin, "UnbindFolder", req.destination(),
          absl::StrCat("device=", req.device(), " folder=", PrintablePath(req.folder()),
                       " jobs_cancelled=", n));
  shoebox::v1::UnbindFolderResponse resp;
  resp.set_jobs_cancelled(n);
  return resp;
}

}  // namespace shoebox::coordinator
