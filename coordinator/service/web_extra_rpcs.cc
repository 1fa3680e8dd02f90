// AdminService, web dashboard slice 2 (issue 22, docs/web.md): the TOTP
// second factor of web accounts (the key sealed here with a key derived from
// the catalog key, bound to the account name), a member's devices, and the
// audit log for the Activity page. Admin identities only (auth_rules.cc).
#include "absl/strings/str_cat.h"
#include "common/crypto/blob.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/rpc_scope.h"
#include "coordinator/store/web_account_store.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

// The AEAD key and the associated "chunk ID" that binds a sealed TOTP key to
// its account: a sealed key copied to another account's row fails to open.
BlobSealer TotpSealer(Coordinator* c) {
  const Key256& k = c->keys().catalog_key;
  return BlobSealer(HkdfSha256(k.data(), k.size(), "shoebox web totp key"));
}
ChunkId TotpId(const std::string& name) { return Sha256::Of("shoebox web totp:" + name); }

void AuditAdmin(Coordinator* c, const AuditEntry& e) {
  if (absl::Status st = c->store().Audit(e); !st.ok()) {
    SPDLOG_ERROR("event=audit_failed action={} error=\"{}\"", e.action, std::string(st.message()));
  }
}

}  // namespace

grpc::Status AdminServiceImpl::SetWebAccountTotp(grpc::ServerContext* ctx,
                                                 const shoebox::v1::SetWebAccountTotpRequest* req,
                                                 shoebox::v1::WebAccountTotp* resp) {
  return Serve(c_, "SetWebAccountTotp", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateSetWebAccountTotp(*req));
    std::string sealed;
    if (req->enable()) {
      sealed =
          TotpSealer(c_).Seal(TotpId(req->name()), AsBytes(req->secret()), Compression::kNever);
    }
    WebAccountStore store(&c_->store());
    RETURN_IF_ERROR(store.SetTotp(req->name(), sealed));
    AuditAdmin(c_, AuditEntry{"admin", who.name, "SetWebAccountTotp", req->name(), true,
                              req->enable() ? "enabled" : "disabled"});
    absl::StatusOr<WebTotpRow> row = store.GetTotp(req->name());
    if (!row.ok()) return row.status();
    resp->set_name(req->name());
    resp->set_enabled(row->enabled);
    resp->set_admins_require_totp(row->admins_require_totp);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::GetWebAccountTotp(grpc::ServerContext* ctx,
                                                 const shoebox::v1::GetWebAccountTotpRequest* req,
                                                 shoebox::v1::WebAccountTotp* resp) {
  return Serve(c_, "GetWebAccountTotp", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateWebAccountName(req->name()));
    WebAccountStore store(&c_->store());
    absl::StatusOr<WebTotpRow> row = store.GetTotp(req->name());
    if (!row.ok()) return row.status();
    resp->set_name(req->name());
    resp->set_enabled(row->enabled);
    resp->set_admins_require_totp(row->admins_require_totp);
    resp->set_last_step(row->last_step);
    if (row->enabled) {
      absl::StatusOr<std::string> key =
          TotpSealer(c_).Open(TotpId(req->name()), row->sealed_secret);
      if (!key.ok()) {
        return absl::DataLossError(absl::StrCat(
            "the TOTP key of web account \"", req->name(),
            "\" cannot be opened (sealed under another master key?): turn it off and on again "
            "with `shoebox web user totp disable|enable ",
            req->name(), "`"));
      }
      resp->set_secret(*key);
    }
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::UseWebAccountTotpStep(
    grpc::ServerContext* ctx, const shoebox::v1::UseWebAccountTotpStepRequest* req,
    shoebox::v1::UseWebAccountTotpStepResponse* resp) {
  return Serve(c_, "UseWebAccountTotpStep", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateUseWebAccountTotpStep(*req));
    WebAccountStore store(&c_->store());
    absl::StatusOr<bool> ok = store.UseTotpStep(req->name(), req->step());
    if (!ok.ok()) return ok.status();
    resp->set_accepted(*ok);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::BindWebAccountDevice(
    grpc::ServerContext* ctx, const shoebox::v1::BindWebAccountDeviceRequest* req,
    shoebox::v1::WebAccount* resp) {
  return Serve(c_, "BindWebAccountDevice", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateBindWebAccountDevice(*req));
    WebAccountStore store(&c_->store());
    absl::StatusOr<WebAccountRow> a = store.BindDevice(req->name(), req->device(), req->bind());
    if (!a.ok()) return a.status();
    AuditAdmin(c_, AuditEntry{"admin", who.name, "BindWebAccountDevice", req->name(), true,
                              absl::StrCat(req->bind() ? "bind " : "unbind ", req->device())});
    resp->set_name(a->name);
    resp->set_role(a->role);
    resp->set_created_unix_ms(a->created_unix_ms);
    resp->set_changed_unix_ms(a->changed_unix_ms);
    for (const std::string& d : a->devices) resp->add_devices(d);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListAuditLog(grpc::ServerContext* ctx,
                                            const shoebox::v1::ListAuditLogRequest* req,
                                            shoebox::v1::ListAuditLogResponse* resp) {
  return Serve(c_, "ListAuditLog", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateListAuditLog(*req));
    WebAccountStore store(&c_->store());
    absl::StatusOr<std::vector<WebAuditRow>> rows =
        store.ListAudit(req->before_id(), req->limit() == 0 ? 100 : req->limit());
    if (!rows.ok()) return rows.status();
    for (const WebAuditRow& r : *rows) {
      shoebox::v1::AuditLogEntry* e = resp->add_entries();
      e->set_id(r.id);
      e->set_unix_ms(r.unix_ms);
      e->set_actor_kind(r.actor_kind);
      e->set_actor(r.actor);
      e->set_action(r.action);
      e->set_target(r.target);
      e->set_allowed(r.allowed);
      e->set_detail(r.detail);
      e->set_count(r.count);
    }
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator
