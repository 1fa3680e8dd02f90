// Transfers (issue 21, slice 2; coordinator/transfers.h): the admin's
// AddTransfer/List/Pause/Resume/Cancel, and the workers' ReportListing and
// IngestItem, which go through the ingest of ImportItems.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/rpc_scope.h"
#include "coordinator/service/worker_service.h"

namespace shoebox::coordinator {

namespace {

void AuditTransfer(Coordinator* c, const Caller& who, const char* action, const std::string& name,
                   const absl::Status& st, const std::string& detail) {
  AuditEntry e{"admin", who.name, action,
               name,    st.ok(),  st.ok() ? detail : std::string(st.message())};
  if (absl::Status a = c->store().Audit(e); !a.ok()) {
    SPDLOG_WARN("event=audit_failed action={} error=\"{}\"", action, std::string(a.message()));
  }
}

}  // namespace

grpc::Status AdminServiceImpl::AddTransfer(grpc::ServerContext* ctx,
                                           const shoebox::v1::AddTransferRequest* req,
                                           shoebox::v1::Transfer* resp) {
  return Serve(c_, "AddTransfer", ctx, [&](const Caller& who) {
    absl::StatusOr<shoebox::v1::Transfer> t = c_->transfers().Add(*req);
    AuditTransfer(c_, who, "AddTransfer", req->name(), t.status(),
                  absl::StrCat("from ", req->source(), " to ", absl::StrJoin(req->targets(), ","),
                               req->pass_through() ? " pass-through" : " keep"));
    return Assign(std::move(t), resp);
  });
}

grpc::Status AdminServiceImpl::ListTransfers(grpc::ServerContext* ctx,
                                             const shoebox::v1::ListTransfersRequest*,
                                             shoebox::v1::ListTransfersResponse* resp) {
  return Serve(c_, "ListTransfers", ctx,
               [&](const Caller&) { return Assign(c_->transfers().List(), resp); });
}

namespace {

grpc::Status SetTransferState(Coordinator* c, const char* method, grpc::ServerContext* ctx,
                              const std::string& name, const char* state,
                              shoebox::v1::Transfer* resp) {
  return Serve(c, method, ctx, [&](const Caller& who) {
    absl::StatusOr<shoebox::v1::Transfer> t = c->transfers().SetState(name, state);
    AuditTransfer(c, who, method, name, t.status(), state);
    return Assign(std::move(t), resp);
  });
}

}  // namespace

grpc::Status AdminServiceImpl::PauseTransfer(grpc::ServerContext* ctx,
                                             const shoebox::v1::TransferNameRequest* req,
                                             shoebox::v1::Transfer* resp) {
  return SetTransferState(c_, "PauseTransfer", ctx, req->name(), "paused", resp);
}

grpc::Status AdminServiceImpl::ResumeTransfer(grpc::ServerContext* ctx,
                                              const shoebox::v1::TransferNameRequest* req,
                                              shoebox::v1::Transfer* resp) {
  return SetTransferState(c_, "ResumeTransfer", ctx, req->name(), "active", resp);
}

grpc::Status AdminServiceImpl::CancelTransfer(grpc::ServerContext* ctx,
                                              const shoebox::v1::TransferNameRequest* req,
                                              shoebox::v1::Transfer* resp) {
  return SetTransferState(c_, "CancelTransfer", ctx, req->name(), "cancelled", resp);
}

grpc::Status WorkerServiceImpl::ReportListing(grpc::ServerContext* ctx,
                                              const shoebox::v1::ReportListingRequest* req,
                                              shoebox::v1::ReportListingResponse* resp) {
  return Serve(c_, "ReportListing", ctx, [&](const Caller& who) -> absl::Status {
    absl::StatusOr<int64_t> worker = c_->store().FindWorker(who.name);
    if (!worker.ok()) return worker.status();
    return Assign(c_->transfers().ReportListing(*worker, *req), resp);
  });
}

grpc::Status WorkerServiceImpl::IngestItem(
    grpc::ServerContext* ctx, grpc::ServerReader<shoebox::v1::IngestItemRequest>* reader,
    shoebox::v1::IngestItemResponse* resp) {
  return Serve(c_, "IngestItem", ctx, [&](const Caller& who) -> absl::Status {
    shoebox::v1::IngestItemRequest msg;
    if (!reader->Read(&msg)) return absl::InvalidArgumentError("header: the stream was empty");
    if (msg.part_case() != shoebox::v1::IngestItemRequest::kHeader) {
      return absl::InvalidArgumentError(
          "header: the first message must be the header with the fetch job's lease and the item");
    }
    const shoebox::v1::IngestItemHeader h = msg.header();
    absl::StatusOr<int64_t> worker = c_->store().FindWorker(who.name);
    if (!worker.ok()) return worker.status();
    // The item's albums and capture time come from the listing that queued
    // the job (photo services, issue 21 slice 3) unless the worker names them.
    absl::StatusOr<FetchFacts> facts =
        c_->transfers().FetchItem(*worker, h.job_id(), h.lease_token());
    if (!facts.ok()) return facts.status();
    shoebox::v1::ImportHeader ih;
    ih.set_source(facts->transfer);
    absl::StatusOr<std::unique_ptr<Ingest::Session>> session = c_->ingest().Open(ih);
    if (!session.ok()) return session.status();
    shoebox::v1::ImportItemsRequest part;
    shoebox::v1::ImportItem* item = part.mutable_item();
    item->set_path(h.path());
    item->set_mtime_ns(h.mtime_ns());
    item->set_capture_unix_ns(h.capture_unix_ns() != 0 ? h.capture_unix_ns() : facts->capture_ns);
    for (const std::string& a : h.albums()) item->add_albums(a);
    if (h.albums().empty()) {
      for (const std::string& a : facts->albums) item->add_albums(a);
    }
    item->set_size(h.size());
    item->set_sha256(h.sha256());
    absl::Status st = (*session)->Handle(part);
    while (st.ok() && reader->Read(&msg)) {
      if (msg.part_case() != shoebox::v1::IngestItemRequest::kData) {
        st = absl::InvalidArgumentError("header: sent twice; one IngestItem stream is one item");
        break;
      }
      part.Clear();
      part.set_data(std::move(*msg.mutable_data()));
      st = (*session)->Handle(part);
    }
    if (st.ok() && ctx->IsCancelled())
      st = absl::CancelledError("IngestItem: the worker went away");
    if (!st.ok()) return st;
    absl::StatusOr<shoebox::v1::ImportItemsResponse> done = (*session)->Finish();
    if (!done.ok()) return done.status();
    resp->set_new_version(done->new_versions() > 0);
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator
