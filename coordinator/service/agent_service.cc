#include "coordinator/service/agent_service.h"

#include "coordinator/service/rpc_scope.h"

#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace shoebox::coordinator {

grpc::Status AgentServiceImpl::Enroll(grpc::ServerContext* ctx,
                                      const shoebox::v1::EnrollRequest* req,
                                      shoebox::v1::EnrollResponse* resp) {
  return ServeEnroll(c_, "Enroll", ctx, "device", req->token(), req->csr_pem(), resp);
}

grpc::Status AgentServiceImpl::Hello(grpc::ServerContext* ctx, const shoebox::v1::HelloRequest* req,
                                     shoebox::v1::HelloResponse* resp) {
  return Serve(c_, "Hello", ctx, [&](const Caller& who) {
    return Assign(c_->catalog().Hello(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::Heartbeat(grpc::ServerContext* ctx,
                                         const shoebox::v1::HeartbeatRequest* req,
                                         shoebox::v1::HeartbeatResponse* resp) {
  return Serve(c_, "Heartbeat", ctx, [&](const Caller& who) {
    RETURN_IF_ERROR(Assign(c_->catalog().Heartbeat(who.name, *req), resp));
    AddRestoreOrders(c_, who.name, resp);  // issue 22: restore_rpcs.cc
    return absl::OkStatus();
  });
}

grpc::Status AgentServiceImpl::ReportFiles(grpc::ServerContext* ctx,
                                           const shoebox::v1::ReportFilesRequest* req,
                                           shoebox::v1::ReportFilesResponse* resp) {
  return Serve(c_, "ReportFiles", ctx, [&](const Caller& who) {
    return Assign(c_->catalog().ReportFiles(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::PutChunks(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<shoebox::v1::PutChunkAck, shoebox::v1::PutChunkRequest>* stream) {
  return Serve(c_, "PutChunks", ctx, [&](const Caller& who) -> absl::Status {
    // Make sure the device exists before reading any data.
    absl::StatusOr<int64_t> id = c_->catalog().DeviceId(who.name);
    if (!id.ok()) return id.status();
    // Read ahead (kPreparingPerStream, kInFlightPerStream); acks go back in
    // the order batches commit (the agent matches them by ID), each only
    // after its chunk is durable and recorded. The sync API allows one Read
    // and one Write at a time from different threads; writes are serialised
    // by `mu`.
    struct Window {
      int in_flight = 0;  // read, not yet acknowledged
      int preparing = 0;  // read, not yet staged
    };
    absl::Mutex mu;
    Window w;
    std::vector<Catalog::PreparedChunk> staged;  // waiting for the group commit
    bool client_gone = false;
    const std::string device = who.name;
    for (;;) {
      auto req = std::make_shared<shoebox::v1::PutChunkRequest>();
      if (!stream->Read(req.get())) break;
      {
        absl::MutexLock l(&mu);
        mu.Await(absl::Condition(
            +[](Window* win) {
              return win->in_flight < kInFlightPerStream && win->preparing < kPreparingPerStream;
            },
            &w));
        if (client_gone) break;
        ++w.in_flight;
        ++w.preparing;
      }
      ingest_.Schedule([this, req, &mu, &w, &staged, &client_gone, &device, stream]() mutable {
        Catalog::PreparedChunk p = c_->catalog().PreparePutChunk(device, *req);
        req.reset();  // the data is staged (or refused): free it now
        std::vector<Catalog::PreparedChunk> batch;
        {
          absl::MutexLock l(&mu);
          staged.push_back(std::move(p));
          --w.preparing;
          // The last chunk being prepared commits everything staged so far.
          if (w.preparing > 0) return;
          batch.swap(staged);
        }
        c_->catalog().FinishPutChunks(device, batch);
        absl::MutexLock l(&mu);
        for (const Catalog::PreparedChunk& done : batch) {
          if (!client_gone && !stream->Write(done.ack)) client_gone = true;
        }
        w.in_flight -= static_cast<int>(batch.size());
      });
    }
    absl::MutexLock l(&mu);
    mu.Await(absl::Condition(
        +[](Window* win) { return win->in_flight == 0; }, &w));
    if (client_gone) return absl::CancelledError("PutChunks: the client went away");
    return absl::OkStatus();
  });
}

grpc::Status AgentServiceImpl::ListVersions(grpc::ServerContext* ctx,
                                            const shoebox::v1::ListVersionsRequest* req,
                                            shoebox::v1::ListVersionsResponse* resp) {
  return Serve(c_, "ListVersions", ctx, [&](const Caller& who) {
    return Assign(c_->catalog().ListVersions(who.name, *req), resp);
  });
}

grpc::Status AgentServiceImpl::ReadChunks(grpc::ServerContext* ctx,
                                          const shoebox::v1::ReadChunksRequest* req,
                                          grpc::ServerWriter<shoebox::v1::ChunkData>* writer) {
  return Serve(c_, "ReadChunks", ctx, [&](const Caller& who) {
    return c_->catalog().ReadChunksPlain(
        who.name, req->ids(), [&](shoebox::v1::ChunkData&& d) { return writer->Write(d); });
  });
}

}  // namespace shoebox::coordinator
