// AdminService: accounts of the web dashboard (issue 22, docs/web.md). Only
// an admin identity reaches these (auth_rules.cc): the `shoebox web` process
// and the CLI. Creating an account and changing a password are audited with
// the admin identity that asked; RecordWebAudit writes the web process's own
// events (log-ins, refusals, actions) as actor kind "web".
#include "absl/strings/str_cat.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/rpc_scope.h"
#include "coordinator/store/web_account_store.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

void ToProto(const WebAccountRow& a, shoebox::v1::WebAccount* p) {
  p->set_name(a.name);
  p->set_role(a.role);
  p->set_created_unix_ms(a.created_unix_ms);
  p->set_changed_unix_ms(a.changed_unix_ms);
  for (const std::string& d : a.devices) p->add_devices(d);
}

void AuditWeb(Coordinator* c, const AuditEntry& e) {
  if (absl::Status st = c->store().Audit(e); !st.ok()) {
    SPDLOG_ERROR("event=audit_failed action={} error=\"{}\"", e.action, std::string(st.message()));
  }
}

}  // namespace

grpc::Status AdminServiceImpl::CreateWebAccount(grpc::ServerContext* ctx,
                                                const shoebox::v1::CreateWebAccountRequest* req,
                                                shoebox::v1::WebAccount* resp) {
  return Serve(c_, "CreateWebAccount", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateCreateWebAccount(*req));
    WebAccountRow row;
    row.name = req->name();
    row.role = req->role();
    row.password_hash = req->password_hash();
    row.devices.assign(req->devices().begin(), req->devices().end());
    WebAccountStore store(&c_->store());
    absl::StatusOr<WebAccountRow> made = store.Create(row);
    if (!made.ok()) return made.status();
    AuditWeb(c_, AuditEntry{"admin", who.name, "CreateWebAccount", req->name(), true,
                            absl::StrCat("role=", req->role(), " devices=", req->devices_size())});
    ToProto(*made, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListWebAccounts(grpc::ServerContext* ctx,
                                               const shoebox::v1::ListWebAccountsRequest*,
                                               shoebox::v1::ListWebAccountsResponse* resp) {
  return Serve(c_, "ListWebAccounts", ctx, [&](const Caller&) -> absl::Status {
    WebAccountStore store(&c_->store());
    absl::StatusOr<std::vector<WebAccountRow>> all = store.List();
    if (!all.ok()) return all.status();
    for (const WebAccountRow& a : *all) ToProto(a, resp->add_accounts());
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::SetWebAccountPassword(
    grpc::ServerContext* ctx, const shoebox::v1::SetWebAccountPasswordRequest* req,
    shoebox::v1::WebAccount* resp) {
  return Serve(c_, "SetWebAccountPassword", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateSetWebAccountPassword(*req));
    WebAccountStore store(&c_->store());
    absl::StatusOr<WebAccountRow> a = store.SetPassword(req->name(), req->password_hash());
    if (!a.ok()) return a.status();
    AuditWeb(c_, AuditEntry{"admin", who.name, "SetWebAccountPassword", req->name(), true, ""});
    ToProto(*a, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::GetWebAccountCredential(
    grpc::ServerContext* ctx, const shoebox::v1::GetWebAccountCredentialRequest* req,
    shoebox::v1::WebAccountCredential* resp) {
  return Serve(c_, "GetWebAccountCredential", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateWebAccountName(req->name()));
    WebAccountStore store(&c_->store());
    absl::StatusOr<WebAccountRow> a = store.Get(req->name());
    if (!a.ok()) return a.status();
    ToProto(*a, resp->mutable_account());
    resp->set_password_hash(a->password_hash);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::RecordWebAudit(grpc::ServerContext* ctx,
                                              const shoebox::v1::RecordWebAuditRequest* req,
                                              shoebox::v1::RecordWebAuditResponse*) {
  return Serve(c_, "RecordWebAudit", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateRecordWebAudit(*req));
    // The actor is the web account; the admin identity that relayed it is
    // kept in the detail, so a forged entry still names its source.
    AuditEntry e{"web",          req->account().empty() ? "(not logged in)" : req->account(),
                 req->action(),  req->target(),
                 req->allowed(), absl::StrCat(req->detail(), " via=", who.name)};
    return c_->store().Audit(e);
  });
}

}  // namespace shoebox::coordinator
