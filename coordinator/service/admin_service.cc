#include "coordinator/service/admin_service.h"

#include "absl/strings/str_cat.h"
#include "coordinator/service/rpc_scope.h"

namespace shoebox::coordinator {

grpc::Status AdminServiceImpl::CreateDestination(grpc::ServerContext* ctx,
                                                 const shoebox::v1::CreateDestinationRequest* req,
                                                 shoebox::v1::Destination* resp) {
  return Serve(c_, "CreateDestination", ctx, [&](const Caller& who) {
    return Assign(c_->admin().CreateDestination(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::ListDestinations(grpc::ServerContext* ctx,
                                                const shoebox::v1::ListDestinationsRequest*,
                                                shoebox::v1::ListDestinationsResponse* resp) {
  return Serve(c_, "ListDestinations", ctx,
               [&](const Caller&) { return Assign(c_->admin().ListDestinations(), resp); });
}

grpc::Status AdminServiceImpl::UpdateDestination(grpc::ServerContext* ctx,
                                                 const shoebox::v1::UpdateDestinationRequest* req,
                                                 shoebox::v1::UpdateDestinationResponse* resp) {
  return Serve(c_, "UpdateDestination", ctx, [&](const Caller& who) {
    return Assign(c_->admin().UpdateDestination(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::RemoveDestination(grpc::ServerContext* ctx,
                                                 const shoebox::v1::RemoveDestinationRequest* req,
                                                 shoebox::v1::RemoveDestinationResponse* resp) {
  return Serve(c_, "RemoveDestination", ctx, [&](const Caller& who) {
    return Assign(c_->admin().RemoveDestination(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::PauseDestination(grpc::ServerContext* ctx,
                                                const shoebox::v1::PauseDestinationRequest* req,
                                                shoebox::v1::Destination* resp) {
  return Serve(c_, "PauseDestination", ctx, [&](const Caller& who) {
    return Assign(c_->admin().PauseDestination(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::CheckDestination(grpc::ServerContext* ctx,
                                                const shoebox::v1::CheckDestinationRequest* req,
                                                shoebox::v1::DestinationCheck* resp) {
  return Serve(c_, "CheckDestination", ctx, [&](const Caller& who) {
    return Assign(c_->admin().CheckDestination(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::GetDestinationCheck(
    grpc::ServerContext* ctx, const shoebox::v1::GetDestinationCheckRequest* req,
    shoebox::v1::DestinationCheck* resp) {
  return Serve(c_, "GetDestinationCheck", ctx,
               [&](const Caller&) { return Assign(c_->admin().GetDestinationCheck(*req), resp); });
}

grpc::Status AdminServiceImpl::ListBindings(grpc::ServerContext* ctx,
                                            const shoebox::v1::ListBindingsRequest* req,
                                            shoebox::v1::ListBindingsResponse* resp) {
  return Serve(c_, "ListBindings", ctx,
               [&](const Caller&) { return Assign(c_->admin().ListBindings(*req), resp); });
}

grpc::Status AdminServiceImpl::UnbindFolder(grpc::ServerContext* ctx,
                                            const shoebox::v1::UnbindFolderRequest* req,
                                            shoebox::v1::UnbindFolderResponse* resp) {
  return Serve(c_, "UnbindFolder", ctx, [&](const Caller& who) {
    return Assign(c_->admin().UnbindFolder(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::BindFolder(grpc::ServerContext* ctx,
                                          const shoebox::v1::BindFolderRequest* req,
                                          shoebox::v1::BindFolderResponse* resp) {
  return Serve(c_, "BindFolder", ctx, [&](const Caller& who) {
    return Assign(c_->admin().BindFolder(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::ListDevices(grpc::ServerContext* ctx,
                                           const shoebox::v1::ListDevicesRequest*,
                                           shoebox::v1::ListDevicesResponse* resp) {
  return Serve(c_, "ListDevices", ctx,
               [&](const Caller&) { return Assign(c_->admin().ListDevices(), resp); });
}

grpc::Status AdminServiceImpl::GetStatus(grpc::ServerContext* ctx,
                                         const shoebox::v1::GetStatusRequest*,
                                         shoebox::v1::StatusResponse* resp) {
  return Serve(c_, "GetStatus", ctx,
               [&](const Caller&) { return Assign(c_->admin().GetStatus(), resp); });
}

grpc::Status AdminServiceImpl::ListJobs(grpc::ServerContext* ctx,
                                        const shoebox::v1::ListJobsRequest* req,
                                        shoebox::v1::ListJobsResponse* resp) {
  return Serve(c_, "ListJobs", ctx,
               [&](const Caller&) { return Assign(c_->admin().ListJobs(*req), resp); });
}

grpc::Status AdminServiceImpl::CancelJobs(grpc::ServerContext* ctx,
                                          const shoebox::v1::JobSelector* req,
                                          shoebox::v1::JobActionResponse* resp) {
  return Serve(c_, "CancelJobs", ctx, [&](const Caller& who) {
    return Assign(c_->admin().CancelJobs(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::SetJobPriority(grpc::ServerContext* ctx,
                                              const shoebox::v1::SetJobPriorityRequest* req,
                                              shoebox::v1::JobActionResponse* resp) {
  return Serve(c_, "SetJobPriority", ctx, [&](const Caller& who) {
    return Assign(c_->admin().SetJobPriority(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::RetryJobs(grpc::ServerContext* ctx,
                                         const shoebox::v1::JobSelector* req,
                                         shoebox::v1::JobActionResponse* resp) {
  return Serve(c_, "RetryJobs", ctx, [&](const Caller& who) {
    return Assign(c_->admin().RetryJobs(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::CreateEnrollToken(grpc::ServerContext* ctx,
                                                 const shoebox::v1::CreateEnrollTokenRequest* req,
                                                 shoebox::v1::CreateEnrollTokenResponse* resp) {
  return Serve(c_, "CreateEnrollToken", ctx, [&](const Caller& who) {
    return Assign(c_->admin().CreateEnrollToken(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::ListCertificates(grpc::ServerContext* ctx,
                                                const shoebox::v1::ListCertificatesRequest*,
                                                shoebox::v1::ListCertificatesResponse* resp) {
  return Serve(c_, "ListCertificates", ctx,
               [&](const Caller&) { return Assign(c_->admin().ListCertificates(), resp); });
}

grpc::Status AdminServiceImpl::Revoke(grpc::ServerContext* ctx,
                                      const shoebox::v1::RevokeRequest* req,
                                      shoebox::v1::RevokeResponse* resp) {
  return Serve(c_, "Revoke", ctx,
               [&](const Caller& who) { return Assign(c_->admin().Revoke(who.name, *req), resp); });
}

grpc::Status AdminServiceImpl::ListVersions(grpc::ServerContext* ctx,
                                            const shoebox::v1::ListVersionsRequest* req,
                                            shoebox::v1::ListVersionsResponse* resp) {
  return Serve(c_, "AdminListVersions", ctx,
               [&](const Caller&) { return Assign(c_->admin().ListVersions(*req), resp); });
}

grpc::Status AdminServiceImpl::ReadChunks(grpc::ServerContext* ctx,
                                          const shoebox::v1::ReadChunksRequest* req,
                                          grpc::ServerWriter<shoebox::v1::ChunkData>* writer) {
  return Serve(c_, "AdminReadChunks", ctx, [&](const Caller&) {
    return c_->catalog().ReadChunksPlainAny(
        req->ids(), [&](shoebox::v1::ChunkData&& d) { return writer->Write(d); });
  });
}

grpc::Status AdminServiceImpl::Verify(grpc::ServerContext* ctx,
                                      const shoebox::v1::VerifyRequest* req,
                                      shoebox::v1::VerifyResponse* resp) {
  return Serve(c_, "Verify", ctx, [&](const Caller& who) {
    return Assign(c_->verifier().Run(absl::StrCat("admin:", who.name), *req), resp);
  });
}

grpc::Status AdminServiceImpl::SetRetention(grpc::ServerContext* ctx,
                                            const shoebox::v1::SetRetentionRequest* req,
                                            shoebox::v1::RetentionPolicies* resp) {
  return Serve(c_, "SetRetention", ctx, [&](const Caller& who) {
    return Assign(c_->retention().Set(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::GetRetention(grpc::ServerContext* ctx,
                                            const shoebox::v1::GetRetentionRequest* req,
                                            shoebox::v1::RetentionPolicies* resp) {
  return Serve(c_, "GetRetention", ctx,
               [&](const Caller&) { return Assign(c_->retention().Get(*req), resp); });
}

grpc::Status AdminServiceImpl::Prune(grpc::ServerContext* ctx, const shoebox::v1::PruneRequest* req,
                                     shoebox::v1::PruneResponse* resp) {
  return Serve(c_, "Prune", ctx, [&](const Caller& who) {
    return Assign(c_->retention().Prune(who.name, *req), resp);
  });
}

grpc::Status AdminServiceImpl::SetWorkerScope(grpc::ServerContext* ctx,
                                              const shoebox::v1::SetWorkerScopeRequest* req,
                                              shoebox::v1::SetWorkerScopeResponse*) {
  return Serve(c_, "SetWorkerScope", ctx,
               [&](const Caller& who) { return c_->admin().SetWorkerScope(who.name, *req); });
}

}  // namespace shoebox::coordinator
