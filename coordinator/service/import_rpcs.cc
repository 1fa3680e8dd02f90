// AdminService: server-side ingest (issue 21, coordinator/ingest.h).
#include "absl/strings/str_cat.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/rpc_scope.h"

namespace shoebox::coordinator {

grpc::Status AdminServiceImpl::ImportItems(
    grpc::ServerContext* ctx, grpc::ServerReader<shoebox::v1::ImportItemsRequest>* reader,
    shoebox::v1::ImportItemsResponse* resp) {
  return Serve(c_, "ImportItems", ctx, [&](const Caller& who) -> absl::Status {
    shoebox::v1::ImportItemsRequest msg;
    if (!reader->Read(&msg)) return absl::InvalidArgumentError("header: the stream was empty");
    if (msg.part_case() != shoebox::v1::ImportItemsRequest::kHeader) {
      return absl::InvalidArgumentError(
          "header: the first message must be the header naming the source");
    }
    absl::StatusOr<std::unique_ptr<Ingest::Session>> session = c_->ingest().Open(msg.header());
    if (!session.ok()) return session.status();
    absl::Status st;
    while (st.ok() && reader->Read(&msg)) st = (*session)->Handle(msg);
    if (st.ok() && ctx->IsCancelled())
      st = absl::CancelledError("ImportItems: the client went away");
    absl::StatusOr<shoebox::v1::ImportItemsResponse> done =
        st.ok() ? (*session)->Finish() : absl::StatusOr<shoebox::v1::ImportItemsResponse>(st);
    const shoebox::v1::ImportItemsResponse& t = (*session)->totals();
    AuditEntry e{"admin",
                 who.name,
                 "ImportItems",
                 t.device(),
                 done.ok(),
                 absl::StrCat(t.items(), " items, ", t.new_versions(), " new, ",
                              t.already_imported(), " already imported",
                              done.ok() ? "" : absl::StrCat("; ", done.status().message()))};
    if (absl::Status a = c_->store().Audit(e); !a.ok()) {
      SPDLOG_WARN("event=audit_failed action=ImportItems error=\"{}\"", std::string(a.message()));
    }
    return Assign(std::move(done), resp);
  });
}

}  // namespace shoebox::coordinator
