// gRPC WorkerService: translates to JobQueue and Catalog (sealed reads).
#pragma once

#include "coordinator/coordinator.h"
#include "shoebox/v1/worker.grpc.pb.h"

namespace shoebox::coordinator {

class WorkerServiceImpl final : public shoebox::v1::WorkerService::Service {
 public:
  explicit WorkerServiceImpl(Coordinator* c) : c_(c) {}

  grpc::Status Enroll(grpc::ServerContext* ctx, const shoebox::v1::WorkerEnrollRequest* req,
                      shoebox::v1::WorkerEnrollResponse* resp) override;
  grpc::Status RegisterWorker(grpc::ServerContext* ctx,
                              const shoebox::v1::RegisterWorkerRequest* req,
                              shoebox::v1::RegisterWorkerResponse* resp) override;
  grpc::Status LeaseJobs(grpc::ServerContext* ctx, const shoebox::v1::LeaseJobsRequest* req,
                         shoebox::v1::LeaseJobsResponse* resp) override;
  grpc::Status RenewLease(grpc::ServerContext* ctx, const shoebox::v1::RenewLeaseRequest* req,
                          shoebox::v1::RenewLeaseResponse* resp) override;
  grpc::Status CompleteJob(grpc::ServerContext* ctx, const shoebox::v1::CompleteJobRequest* req,
                           shoebox::v1::CompleteJobResponse* resp) override;
  grpc::Status CompleteJobs(grpc::ServerContext* ctx, const shoebox::v1::CompleteJobsRequest* req,
                            shoebox::v1::CompleteJobsResponse* resp) override;
  grpc::Status FailJob(grpc::ServerContext* ctx, const shoebox::v1::FailJobRequest* req,
                       shoebox::v1::FailJobResponse* resp) override;
  grpc::Status ReadChunks(grpc::ServerContext* ctx, const shoebox::v1::WorkerReadChunksRequest* req,
                          grpc::ServerWriter<shoebox::v1::ChunkData>* writer) override;
  grpc::Status RepairChunk(grpc::ServerContext* ctx, const shoebox::v1::RepairChunkRequest* req,
                           shoebox::v1::RepairChunkResponse* resp) override;
  grpc::Status UpdateDestinationCredentials(
      grpc::ServerContext* ctx, const shoebox::v1::UpdateDestinationCredentialsRequest* req,
      shoebox::v1::UpdateDestinationCredentialsResponse* resp) override;
  grpc::Status SaveResumeState(grpc::ServerContext* ctx,
                               const shoebox::v1::SaveResumeStateRequest* req,
                               shoebox::v1::SaveResumeStateResponse* resp) override;
  grpc::Status LookupAlbum(grpc::ServerContext* ctx, const shoebox::v1::LookupAlbumRequest* req,
                           shoebox::v1::LookupAlbumResponse* resp) override;
  grpc::Status RecordAlbum(grpc::ServerContext* ctx, const shoebox::v1::RecordAlbumRequest* req,
                           shoebox::v1::RecordAlbumResponse* resp) override;
  grpc::Status ForgetAlbum(grpc::ServerContext* ctx, const shoebox::v1::ForgetAlbumRequest* req,
                           shoebox::v1::ForgetAlbumResponse* resp) override;

  // Transfers (issue 21, slice 2): transfer_rpcs.cc.
  grpc::Status ReportListing(grpc::ServerContext* ctx, const shoebox::v1::ReportListingRequest* req,
                             shoebox::v1::ReportListingResponse* resp) override;
  grpc::Status IngestItem(grpc::ServerContext* ctx,
                          grpc::ServerReader<shoebox::v1::IngestItemRequest>* reader,
                          shoebox::v1::IngestItemResponse* resp) override;

 private:
  Coordinator* const c_;
};

}  // namespace shoebox::coordinator
