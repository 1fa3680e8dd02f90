// AdminService: catalog snapshots (coordinator/snapshots.h).
#include "coordinator/service/admin_service.h"
#include "coordinator/service/rpc_scope.h"

namespace shoebox::coordinator {

namespace {

void ToProto(const snapshot::Info& i, shoebox::v1::CatalogSnapshot* p) {
  p->set_name(i.name);
  p->set_created_unix_ms(i.created_unix_ms);
  p->set_size(i.size);
}

}  // namespace

grpc::Status AdminServiceImpl::CreateSnapshot(grpc::ServerContext* ctx,
                                              const shoebox::v1::CreateSnapshotRequest*,
                                              shoebox::v1::CatalogSnapshot* resp) {
  return Serve(c_, "CreateSnapshot", ctx, [&](const Caller& who) -> absl::Status {
    absl::StatusOr<snapshot::Info> info = c_->snapshots().TakeNow();
    AuditEntry e{"admin",          who.name,
                 "CreateSnapshot", info.ok() ? info->name : "",
                 info.ok(),        info.ok() ? "" : std::string(info.status().message())};
    if (absl::Status st = c_->store().Audit(e); !st.ok()) {
      SPDLOG_WARN("event=audit_failed action=CreateSnapshot error=\"{}\"",
                  std::string(st.message()));
    }
    if (!info.ok()) return info.status();
    ToProto(*info, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListSnapshots(grpc::ServerContext* ctx,
                                             const shoebox::v1::ListSnapshotsRequest*,
                                             shoebox::v1::ListSnapshotsResponse* resp) {
  return Serve(c_, "ListSnapshots", ctx, [&](const Caller&) -> absl::Status {
    absl::StatusOr<std::vector<snapshot::Info>> all = c_->snapshots().List();
    if (!all.ok()) return all.status();
    for (const snapshot::Info& i : *all) ToProto(i, resp->add_snapshots());
    resp->set_chunk_store(RedactLocation(c_->options().chunk_store));
    resp->set_interval_s(c_->snapshots().interval_s());
    resp->set_keep(c_->snapshots().keep());
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator
