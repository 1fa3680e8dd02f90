#include "coordinator/service/agent_service.h"

#include "coordinator/service/rpc_scope.h"

namespace shoebox::coordinator {

grpc::Status AgentServiceImpl::Enroll(grpc::ServerContext* ctx, const shoebox::v1::EnrollRequest* req,
                                      shoebox::v1::EnrollResponse* resp) {
  return ServeEnroll(c_, "Enroll", ctx, "device", req->token(), req->csr_pem(), resp);
}

grpc::Status AgentServiceImpl::Hello(grpc::ServerContext* ctx,
                                     const shoebox::v1::HelloRequest* req,
                                     shoebox::v1::HelloResponse* resp) {
  return Serve(c_, "Hello", ctx, Role::kDevice, [&](const Caller& who) {
    return Assign(c_->catalog().Hello(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::Heartbeat(grpc::ServerContext* ctx,
                                         const shoebox::v1::HeartbeatRequest* req,
                                         shoebox::v1::HeartbeatResponse* resp) {
  return Serve(c_, "Heartbeat", ctx, Role::kDevice, [&](const Caller& who) {
    return Assign(c_->catalog().Heartbeat(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::ReportFiles(grpc::ServerContext* ctx,
                                           const shoebox::v1::ReportFilesRequest* req,
                                           shoebox::v1::ReportFilesResponse* resp) {
  return Serve(c_, "ReportFiles", ctx, Role::kDevice, [&](const Caller& who) {
    return Assign(c_->catalog().ReportFiles(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::PutChunks(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<shoebox::v1::PutChunkAck, shoebox::v1::PutChunkRequest>* stream) {
  return Serve(c_, "PutChunks", ctx, Role::kDevice, [&](const Caller& who) -> absl::Status {
    // Make sure the device exists before reading any data.
    absl::StatusOr<int64_t> id = c_->catalog().DeviceId(who.name);
    if (!id.ok()) return id.status();
    shoebox::v1::PutChunkRequest req;
    while (stream->Read(&req)) {
      shoebox::v1::PutChunkAck ack = c_->catalog().PutChunk(who.name, req);
      if (!stream->Write(ack)) {
        return absl::CancelledError("PutChunks: the client went away");
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status AgentServiceImpl::ListVersions(grpc::ServerContext* ctx,
                                            const shoebox::v1::ListVersionsRequest* req,
                                            shoebox::v1::ListVersionsResponse* resp) {
  return Serve(c_, "ListVersions", ctx, Role::kDevice, [&](const Caller& who) {
    return Assign(c_->catalog().ListVersions(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::ReadChunks(grpc::ServerContext* ctx,
                                          const shoebox::v1::ReadChunksRequest* req,
                                          grpc::ServerWriter<shoebox::v1::ChunkData>* writer) {
  return Serve(c_, "ReadChunks", ctx, Role::kDevice, [&](const Caller& who) {
    return c_->catalog().ReadChunksPlain(
        who.name, req->ids(), [&](shoebox::v1::ChunkData&& d) { return writer->Write(d); });
  });
}

}  // namespace shoebox::coordinator
