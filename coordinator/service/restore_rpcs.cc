// Recently deleted and restore requests (issue 22; docs/web.md "Recently
// deleted", docs/agent.md "Restore requests"): the admin's ListDeleted,
// RequestRestore and ListRestoreRequests (the web process asks with a
// member's devices), the orders handed to an agent in its Heartbeat, and
// the agent's ReportRestore. Logic and SQL: store/restore_store.cc.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "coordinator/retention_policy.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/agent_service.h"
#include "coordinator/service/rpc_scope.h"
#include "coordinator/store/restore_store.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

namespace {

constexpr int64_t kDayMs = 86400000;

void AuditRestore(Coordinator* c, const AuditEntry& e) {
  if (absl::Status st = c->store().Audit(e); !st.ok()) {
    SPDLOG_ERROR("event=audit_failed action={} error=\"{}\"", e.action, std::string(st.message()));
  }
}

void ToProto(const RestoreRequestRow& r, shoebox::v1::RestoreRequestInfo* p) {
  p->set_id(r.id);
  p->set_device(r.device);
  p->set_folder(r.folder);
  p->set_path(r.path);
  p->set_version_id(r.version_id);
  p->set_state(r.state);
  p->set_reason(r.reason);
  p->set_requested_by(r.requested_by);
  p->set_created_unix_ms(r.created_unix_ms);
  p->set_finished_unix_ms(r.finished_unix_ms);
  p->set_restored_path(r.restored_path);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

grpc::Status AdminServiceImpl::ListDeleted(grpc::ServerContext* ctx,
                                           const shoebox::v1::ListDeletedRequest* req,
                                           shoebox::v1::ListDeletedResponse* resp) {
  return Serve(c_, "ListDeleted", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateListDeleted(*req));
    DeletedQuery q;
    q.devices.assign(req->devices().begin(), req->devices().end());
    q.before_deleted_unix_us = req->before_deleted_unix_us();
    q.before_version_id = req->before_version_id();
    q.limit = req->limit() == 0 ? 100 : req->limit();
    q.default_keep_days = DefaultRetentionPolicy().deleted_keep_days;
    absl::StatusOr<DeletedPage> rows = RestoreStore(&c_->store()).ListDeleted(q);
    if (!rows.ok()) return rows.status();
    const int64_t now = NowMs();
    for (const DeletedRow& d : rows->files) {
      shoebox::v1::DeletedFile* f = resp->add_files();
      f->set_device(d.device);
      f->set_folder(d.folder);
      f->set_path(d.path);
      f->set_version_id(d.version_id);
      f->set_deleted_unix_ms(d.deleted_unix_ms);
      f->set_size(d.size);
      f->set_mtime_ns(d.mtime_ns);
      const int64_t expires = d.deleted_unix_ms + int64_t{d.keep_days} * kDayMs;
      f->set_expires_unix_ms(expires);
      f->set_days_left(
          static_cast<uint32_t>(std::max<int64_t>(0, (expires - now + kDayMs - 1) / kDayMs)));
      if (d.restore.id != 0) ToProto(d.restore, f->mutable_restore());
    }
    resp->set_next_before_deleted_unix_us(rows->next_before_deleted_unix_us);
    resp->set_next_before_version_id(rows->next_before_version_id);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::RequestRestore(grpc::ServerContext* ctx,
                                              const shoebox::v1::RequestRestoreRequest* req,
                                              shoebox::v1::RestoreRequestInfo* resp) {
  return Serve(c_, "RequestRestore", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateRequestRestore(*req));
    const std::string by = req->requested_by().empty() ? who.name : req->requested_by();
    absl::StatusOr<RestoreRequestRow> r =
        RestoreStore(&c_->store())
            .Create(req->device(), req->folder(), req->path(), req->version_id(), by);
    AuditRestore(
        c_,
        AuditEntry{"admin", who.name, "RequestRestore",
                   absl::StrCat(req->device(), ":", PrintablePath(req->path())), r.ok(),
                   r.ok() ? absl::StrCat("request ", r->id, " version ", r->version_id, " for ", by)
                          : std::string(r.status().message())});
    if (!r.ok()) return r.status();
    ToProto(*r, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListRestoreRequests(
    grpc::ServerContext* ctx, const shoebox::v1::ListRestoreRequestsRequest* req,
    shoebox::v1::ListRestoreRequestsResponse* resp) {
  return Serve(c_, "ListRestoreRequests", ctx, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(ValidateListRestoreRequests(*req));
    absl::StatusOr<std::vector<RestoreRequestRow>> rows =
        RestoreStore(&c_->store())
            .List(std::vector<std::string>(req->devices().begin(), req->devices().end()),
                  std::vector<int64_t>(req->ids().begin(), req->ids().end()), req->before_id(),
                  req->limit() == 0 ? 100 : req->limit());
    if (!rows.ok()) return rows.status();
    for (const RestoreRequestRow& r : *rows) ToProto(r, resp->add_requests());
    return absl::OkStatus();
  });
}

void AddRestoreOrders(Coordinator* c, const std::string& device,
                      shoebox::v1::HeartbeatResponse* resp) {
  absl::StatusOr<std::vector<RestoreOrderRow>> orders = RestoreStore(&c->store()).TakeOpen(device);
  if (!orders.ok()) {
    SPDLOG_WARN("event=restore_orders_failed device={} error=\"{}\"", device,
                std::string(orders.status().message()));
    return;
  }
  for (const RestoreOrderRow& o : *orders) {
    shoebox::v1::RestoreOrder* p = resp->add_restores();
    p->set_request_id(o.request_id);
    p->set_folder(o.folder);
    p->set_path(o.path);
    p->set_version_id(o.version_id);
  }
}

grpc::Status AgentServiceImpl::ReportRestore(grpc::ServerContext* ctx,
                                             const shoebox::v1::ReportRestoreRequest* req,
                                             shoebox::v1::ReportRestoreResponse*) {
  return Serve(c_, "ReportRestore", ctx, [&](const Caller& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateReportRestore(*req));
    absl::StatusOr<RestoreRequestRow> r =
        RestoreStore(&c_->store())
            .Report(who.name, req->request_id(), req->ok(), req->reason(), req->restored_path());
    if (!r.ok()) return r.status();
    AuditRestore(c_, AuditEntry{"device", who.name, req->ok() ? "RestoreDone" : "RestoreFailed",
                                absl::StrCat(who.name, ":", PrintablePath(r->path)), true,
                                req->ok() ? absl::StrCat("request ", r->id, " written to ",
                                                         PrintablePath(r->restored_path))
                                          : absl::StrCat("request ", r->id, ": ", req->reason())});
    SPDLOG_INFO("event=restore_{} device={} request={}", req->ok() ? "done" : "failed", who.name,
                r->id);
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator
