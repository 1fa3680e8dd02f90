#include "coordinator/service/worker_service.h"

#include "coordinator/service/rpc_scope.h"

namespace shoebox::coordinator {

grpc::Status WorkerServiceImpl::Enroll(grpc::ServerContext* ctx,
                                       const shoebox::v1::WorkerEnrollRequest* req,
                                       shoebox::v1::WorkerEnrollResponse* resp) {
  return ServeEnroll(c_, "WorkerEnroll", ctx, "worker", req->token(), req->csr_pem(), resp);
}

grpc::Status WorkerServiceImpl::RegisterWorker(grpc::ServerContext* ctx,
                                               const shoebox::v1::RegisterWorkerRequest* req,
                                               shoebox::v1::RegisterWorkerResponse* resp) {
  return Serve(c_, "RegisterWorker", ctx, [&](const Caller& who) {
    return Assign(c_->queue().Register(who.name, *req), resp);
  });
}

grpc::Status WorkerServiceImpl::LeaseJobs(grpc::ServerContext* ctx,
                                          const shoebox::v1::LeaseJobsRequest* req,
                                          shoebox::v1::LeaseJobsResponse* resp) {
  return Serve(c_, "LeaseJobs", ctx, [&](const Caller& who) {
    return Assign(c_->queue().Lease(who.name, *req, [ctx] { return ctx->IsCancelled(); }), resp);
  });
}

grpc::Status WorkerServiceImpl::RenewLease(grpc::ServerContext* ctx,
                                           const shoebox::v1::RenewLeaseRequest* req,
                                           shoebox::v1::RenewLeaseResponse* resp) {
  return Serve(c_, "RenewLease", ctx,
               [&](const Caller& who) { return Assign(c_->queue().Renew(who.name, *req), resp); });
}

grpc::Status WorkerServiceImpl::CompleteJob(grpc::ServerContext* ctx,
                                            const shoebox::v1::CompleteJobRequest* req,
                                            shoebox::v1::CompleteJobResponse*) {
  return Serve(c_, "CompleteJob", ctx,
               [&](const Caller& who) { return c_->queue().Complete(who.name, *req); });
}

grpc::Status WorkerServiceImpl::CompleteJobs(grpc::ServerContext* ctx,
                                             const shoebox::v1::CompleteJobsRequest* req,
                                             shoebox::v1::CompleteJobsResponse* resp) {
  return Serve(c_, "CompleteJobs", ctx, [&](const Caller& who) {
    return Assign(c_->queue().CompleteBatch(who.name, *req), resp);
  });
}

grpc::Status WorkerServiceImpl::FailJob(grpc::ServerContext* ctx,
                                        const shoebox::v1::FailJobRequest* req,
                                        shoebox::v1::FailJobResponse* resp) {
  return Serve(c_, "FailJob", ctx,
               [&](const Caller& who) { return Assign(c_->queue().Fail(who.name, *req), resp); });
}

grpc::Status WorkerServiceImpl::ReadChunks(grpc::ServerContext* ctx,
                                           const shoebox::v1::WorkerReadChunksRequest* req,
                                           grpc::ServerWriter<shoebox::v1::ChunkData>* writer) {
  return Serve(c_, "WorkerReadChunks", ctx, [&](const Caller& who) -> absl::Status {
    // Only chunks of the files of the caller's own live leases (issue 17).
    if (absl::Status st = c_->queue().CheckReadable(who.name, req->ids()); !st.ok()) {
      c_->auth().AuditRefusal(
          AuditEntry{"worker", who.name, "WorkerReadChunks", "", false, std::string(st.message())});
      return st;
    }
    return c_->catalog().ReadChunksSealed(
        req->ids(), [&](shoebox::v1::ChunkData&& d) { return writer->Write(d); });
  });
}

grpc::Status WorkerServiceImpl::RepairChunk(grpc::ServerContext* ctx,
                                            const shoebox::v1::RepairChunkRequest* req,
                                            shoebox::v1::RepairChunkResponse*) {
  return Serve(c_, "RepairChunk", ctx,
               [&](const Caller& who) { return c_->verifier().RepairChunk(who.name, *req); });
}

grpc::Status WorkerServiceImpl::UpdateDestinationCredentials(
    grpc::ServerContext* ctx, const shoebox::v1::UpdateDestinationCredentialsRequest* req,
    shoebox::v1::UpdateDestinationCredentialsResponse*) {
  return Serve(c_, "UpdateDestinationCredentials", ctx, [&](const Caller& who) {
    return c_->queue().UpdateDestinationCredentials(who.name, *req);
  });
}

grpc::Status WorkerServiceImpl::SaveResumeState(grpc::ServerContext* ctx,
                                                const shoebox::v1::SaveResumeStateRequest* req,
                                                shoebox::v1::SaveResumeStateResponse*) {
  return Serve(c_, "SaveResumeState", ctx,
               [&](const Caller& who) { return c_->queue().SaveResumeState(who.name, *req); });
}

grpc::Status WorkerServiceImpl::LookupAlbum(grpc::ServerContext* ctx,
                                            const shoebox::v1::LookupAlbumRequest* req,
                                            shoebox::v1::LookupAlbumResponse* resp) {
  return Serve(c_, "LookupAlbum", ctx, [&](const Caller& who) {
    return Assign(c_->albums().Lookup(who.name, *req), resp);
  });
}

grpc::Status WorkerServiceImpl::RecordAlbum(grpc::ServerContext* ctx,
                                            const shoebox::v1::RecordAlbumRequest* req,
                                            shoebox::v1::RecordAlbumResponse* resp) {
  return Serve(c_, "RecordAlbum", ctx, [&](const Caller& who) {
    return Assign(c_->albums().Record(who.name, *req), resp);
  });
}

grpc::Status WorkerServiceImpl::ForgetAlbum(grpc::ServerContext* ctx,
                                            const shoebox::v1::ForgetAlbumRequest* req,
                                            shoebox::v1::ForgetAlbumResponse* resp) {
  return Serve(c_, "ForgetAlbum", ctx, [&](const Caller& who) {
    return Assign(c_->albums().Forget(who.name, *req), resp);
  });
}

}  // namespace shoebox::coordinator
