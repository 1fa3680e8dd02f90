// gRPC AgentService: translates to Catalog. Identity from auth.h.
#pragma once

#include <memory>

#include "common/thread_pool.h"
#include "coordinator/coordinator.h"
#include "shoebox/v1/agent.grpc.pb.h"

namespace shoebox::coordinator {

// Adds the device's open restore requests to a Heartbeat answer (a store
// failure is logged; the heartbeat still succeeds). restore_rpcs.cc.
void AddRestoreOrders(Coordinator* c, const std::string& device,
                      shoebox::v1::HeartbeatResponse* resp);

class AgentServiceImpl final : public shoebox::v1::AgentService::Service {
 public:
  explicit AgentServiceImpl(Coordinator* c) : c_(c), ingest_(kIngestThreads) {}

  // Chunks stored at once, in all and per PutChunks stream. A stream reads
  // ahead while up to kPreparingPerStream chunks are being checked, sealed
  // and staged (their data held in memory) and up to kInFlightPerStream are
  // not yet acknowledged; staged chunks are made durable together by one
  // group commit (docs/formats.md, "Batched durability"), started by the
  // last chunk being prepared, so a stream fed faster than the disk syncs
  // commits up to kInFlightPerStream chunks per batch and a trickle commits
  // each chunk at once.
  static constexpr size_t kIngestThreads = 16;
  static constexpr int kPreparingPerStream = 4;
  static constexpr int kInFlightPerStream = 32;

  grpc::Status Enroll(grpc::ServerContext* ctx, const shoebox::v1::EnrollRequest* req,
                      shoebox::v1::EnrollResponse* resp) override;
  grpc::Status Hello(grpc::ServerContext* ctx, const shoebox::v1::HelloRequest* req,
                     shoebox::v1::HelloResponse* resp) override;
  grpc::Status Heartbeat(grpc::ServerContext* ctx, const shoebox::v1::HeartbeatRequest* req,
                         shoebox::v1::HeartbeatResponse* resp) override;
  grpc::Status ReportFiles(grpc::ServerContext* ctx, const shoebox::v1::ReportFilesRequest* req,
                           shoebox::v1::ReportFilesResponse* resp) override;
  grpc::Status PutChunks(grpc::ServerContext* ctx,
                         grpc::ServerReaderWriter<shoebox::v1::PutChunkAck,
                                                  shoebox::v1::PutChunkRequest>* stream) override;
  grpc::Status ListVersions(grpc::ServerContext* ctx, const shoebox::v1::ListVersionsRequest* req,
                            shoebox::v1::ListVersionsResponse* resp) override;
  grpc::Status ReadChunks(grpc::ServerContext* ctx, const shoebox::v1::ReadChunksRequest* req,
                          grpc::ServerWriter<shoebox::v1::ChunkData>* writer) override;
  // Issue 22: service/restore_rpcs.cc.
  grpc::Status ReportRestore(grpc::ServerContext* ctx, const shoebox::v1::ReportRestoreRequest* req,
                             shoebox::v1::ReportRestoreResponse* resp) override;

 private:
  Coordinator* const c_;
  ThreadPool ingest_;
};

}  // namespace shoebox::coordinator
