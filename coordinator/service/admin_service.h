// gRPC AdminService: translates to Admin.
#pragma once

#include "coordinator/coordinator.h"
#include "shoebox/v1/admin.grpc.pb.h"

namespace shoebox::coordinator {

class AdminServiceImpl final : public shoebox::v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(Coordinator* c) : c_(c) {}

  grpc::Status CreateDestination(grpc::ServerContext* ctx,
                                 const shoebox::v1::CreateDestinationRequest* req,
                                 shoebox::v1::Destination* resp) override;
  grpc::Status ListDestinations(grpc::ServerContext* ctx,
                                const shoebox::v1::ListDestinationsRequest* req,
                                shoebox::v1::ListDestinationsResponse* resp) override;
  // Day two for destinations (issue 16).
  grpc::Status UpdateDestination(grpc::ServerContext* ctx,
                                 const shoebox::v1::UpdateDestinationRequest* req,
                                 shoebox::v1::UpdateDestinationResponse* resp) override;
  grpc::Status RemoveDestination(grpc::ServerContext* ctx,
                                 const shoebox::v1::RemoveDestinationRequest* req,
                                 shoebox::v1::RemoveDestinationResponse* resp) override;
  grpc::Status PauseDestination(grpc::ServerContext* ctx,
                                const shoebox::v1::PauseDestinationRequest* req,
                                shoebox::v1::Destination* resp) override;
  grpc::Status CheckDestination(grpc::ServerContext* ctx,
                                const shoebox::v1::CheckDestinationRequest* req,
                                shoebox::v1::DestinationCheck* resp) override;
  grpc::Status GetDestinationCheck(grpc::ServerContext* ctx,
                                   const shoebox::v1::GetDestinationCheckRequest* req,
                                   shoebox::v1::DestinationCheck* resp) override;
  grpc::Status ListBindings(grpc::ServerContext* ctx, const shoebox::v1::ListBindingsRequest* req,
                            shoebox::v1::ListBindingsResponse* resp) override;
  grpc::Status UnbindFolder(grpc::ServerContext* ctx, const shoebox::v1::UnbindFolderRequest* req,
                            shoebox::v1::UnbindFolderResponse* resp) override;
  grpc::Status BindFolder(grpc::ServerContext* ctx, const shoebox::v1::BindFolderRequest* req,
                          shoebox::v1::BindFolderResponse* resp) override;
  grpc::Status ListDevices(grpc::ServerContext* ctx, const shoebox::v1::ListDevicesRequest* req,
                           shoebox::v1::ListDevicesResponse* resp) override;
  grpc::Status GetStatus(grpc::ServerContext* ctx, const shoebox::v1::GetStatusRequest* req,
                         shoebox::v1::StatusResponse* resp) override;
  grpc::Status ListJobs(grpc::ServerContext* ctx, const shoebox::v1::ListJobsRequest* req,
                        shoebox::v1::ListJobsResponse* resp) override;
  grpc::Status CancelJobs(grpc::ServerContext* ctx, const shoebox::v1::JobSelector* req,
                          shoebox::v1::JobActionResponse* resp) override;
  grpc::Status SetJobPriority(grpc::ServerContext* ctx,
                              const shoebox::v1::SetJobPriorityRequest* req,
                              shoebox::v1::JobActionResponse* resp) override;
  grpc::Status RetryJobs(grpc::ServerContext* ctx, const shoebox::v1::JobSelector* req,
                         shoebox::v1::JobActionResponse* resp) override;
  grpc::Status ListCertificates(grpc::ServerContext* ctx,
                                const shoebox::v1::ListCertificatesRequest* req,
                                shoebox::v1::ListCertificatesResponse* resp) override;
  grpc::Status Revoke(grpc::ServerContext* ctx, const shoebox::v1::RevokeRequest* req,
                      shoebox::v1::RevokeResponse* resp) override;
  grpc::Status CreateEnrollToken(grpc::ServerContext* ctx,
                                 const shoebox::v1::CreateEnrollTokenRequest* req,
                                 shoebox::v1::CreateEnrollTokenResponse* resp) override;
  grpc::Status ListVersions(grpc::ServerContext* ctx, const shoebox::v1::ListVersionsRequest* req,
                            shoebox::v1::ListVersionsResponse* resp) override;
  grpc::Status ReadChunks(grpc::ServerContext* ctx, const shoebox::v1::ReadChunksRequest* req,
                          grpc::ServerWriter<shoebox::v1::ChunkData>* writer) override;
  grpc::Status Verify(grpc::ServerContext* ctx, const shoebox::v1::VerifyRequest* req,
                      shoebox::v1::VerifyResponse* resp) override;
  grpc::Status SetRetention(grpc::ServerContext* ctx, const shoebox::v1::SetRetentionRequest* req,
                            shoebox::v1::RetentionPolicies* resp) override;
  grpc::Status GetRetention(grpc::ServerContext* ctx, const shoebox::v1::GetRetentionRequest* req,
                            shoebox::v1::RetentionPolicies* resp) override;
  grpc::Status Prune(grpc::ServerContext* ctx, const shoebox::v1::PruneRequest* req,
                     shoebox::v1::PruneResponse* resp) override;

  // Catalog snapshots: service/snapshot_rpcs.cc.
  grpc::Status CreateSnapshot(grpc::ServerContext* ctx,
                              const shoebox::v1::CreateSnapshotRequest* req,
                              shoebox::v1::CatalogSnapshot* resp) override;
  grpc::Status ListSnapshots(grpc::ServerContext* ctx, const shoebox::v1::ListSnapshotsRequest* req,
                             shoebox::v1::ListSnapshotsResponse* resp) override;
  grpc::Status SetWorkerScope(grpc::ServerContext* ctx,
                              const shoebox::v1::SetWorkerScopeRequest* req,
                              shoebox::v1::SetWorkerScopeResponse* resp) override;
  // Server-side ingest (issue 21): service/import_rpcs.cc.
  grpc::Status ImportItems(grpc::ServerContext* ctx,
                           grpc::ServerReader<shoebox::v1::ImportItemsRequest>* reader,
                           shoebox::v1::ImportItemsResponse* resp) override;

  // Web dashboard accounts: service/web_account_rpcs.cc (issue 22).
  grpc::Status CreateWebAccount(grpc::ServerContext* ctx,
                                const shoebox::v1::CreateWebAccountRequest* req,
                                shoebox::v1::WebAccount* resp) override;
  grpc::Status ListWebAccounts(grpc::ServerContext* ctx,
                               const shoebox::v1::ListWebAccountsRequest* req,
                               shoebox::v1::ListWebAccountsResponse* resp) override;
  grpc::Status SetWebAccountPassword(grpc::ServerContext* ctx,
                                     const shoebox::v1::SetWebAccountPasswordRequest* req,
                                     shoebox::v1::WebAccount* resp) override;
  grpc::Status GetWebAccountCredential(grpc::ServerContext* ctx,
                                       const shoebox::v1::GetWebAccountCredentialRequest* req,
                                       shoebox::v1::WebAccountCredential* resp) override;
  grpc::Status RecordWebAudit(grpc::ServerContext* ctx,
                              const shoebox::v1::RecordWebAuditRequest* req,
                              shoebox::v1::RecordWebAuditResponse* resp) override;
  // Slice 2: service/web_extra_rpcs.cc.
  grpc::Status SetWebAccountTotp(grpc::ServerContext* ctx,
                                 const shoebox::v1::SetWebAccountTotpRequest* req,
                                 shoebox::v1::WebAccountTotp* resp) override;
  grpc::Status GetWebAccountTotp(grpc::ServerContext* ctx,
                                 const shoebox::v1::GetWebAccountTotpRequest* req,
                                 shoebox::v1::WebAccountTotp* resp) override;
  grpc::Status UseWebAccountTotpStep(grpc::ServerContext* ctx,
                                     const shoebox::v1::UseWebAccountTotpStepRequest* req,
                                     shoebox::v1::UseWebAccountTotpStepResponse* resp) override;
  grpc::Status BindWebAccountDevice(grpc::ServerContext* ctx,
                                    const shoebox::v1::BindWebAccountDeviceRequest* req,
                                    shoebox::v1::WebAccount* resp) override;
  grpc::Status ListAuditLog(grpc::ServerContext* ctx, const shoebox::v1::ListAuditLogRequest* req,
                            shoebox::v1::ListAuditLogResponse* resp) override;

  // Transfers (issue 21, slice 2): transfer_rpcs.cc.
  grpc::Status AddTransfer(grpc::ServerContext* ctx, const shoebox::v1::AddTransferRequest* req,
                           shoebox::v1::Transfer* resp) override;
  grpc::Status ListTransfers(grpc::ServerContext* ctx, const shoebox::v1::ListTransfersRequest* req,
                             shoebox::v1::ListTransfersResponse* resp) override;
  grpc::Status PauseTransfer(grpc::ServerContext* ctx, const shoebox::v1::TransferNameRequest* req,
                             shoebox::v1::Transfer* resp) override;
  grpc::Status ResumeTransfer(grpc::ServerContext* ctx, const shoebox::v1::TransferNameRequest* req,
                              shoebox::v1::Transfer* resp) override;
  grpc::Status CancelTransfer(grpc::ServerContext* ctx, const shoebox::v1::TransferNameRequest* req,
                              shoebox::v1::Transfer* resp) override;
  // Notifications: notify/notify_rpcs.cc (issue 22, docs/notifications.md).
  grpc::Status AddNotifyChannel(grpc::ServerContext* ctx,
                                const shoebox::v1::AddNotifyChannelRequest* req,
                                shoebox::v1::NotifyChannel* resp) override;
  grpc::Status ListNotify(grpc::ServerContext* ctx, const shoebox::v1::ListNotifyRequest* req,
                          shoebox::v1::ListNotifyResponse* resp) override;
  grpc::Status RemoveNotifyChannel(grpc::ServerContext* ctx,
                                   const shoebox::v1::RemoveNotifyChannelRequest* req,
                                   shoebox::v1::RemoveNotifyChannelResponse* resp) override;
  grpc::Status TestNotifyChannel(grpc::ServerContext* ctx,
                                 const shoebox::v1::TestNotifyChannelRequest* req,
                                 shoebox::v1::TestNotifyChannelResponse* resp) override;
  grpc::Status SetNotifySetting(grpc::ServerContext* ctx,
                                const shoebox::v1::SetNotifySettingRequest* req,
                                shoebox::v1::ListNotifyResponse* resp) override;
  grpc::Status SetDevicePingUrl(grpc::ServerContext* ctx,
                                const shoebox::v1::SetDevicePingUrlRequest* req,
                                shoebox::v1::SetDevicePingUrlResponse* resp) override;
  // Recently deleted and restore requests (issue 22): service/restore_rpcs.cc.
  grpc::Status ListDeleted(grpc::ServerContext* ctx, const shoebox::v1::ListDeletedRequest* req,
                           shoebox::v1::ListDeletedResponse* resp) override;
  grpc::Status RequestRestore(grpc::ServerContext* ctx,
                              const shoebox::v1::RequestRestoreRequest* req,
                              shoebox::v1::RestoreRequestInfo* resp) override;
  grpc::Status ListRestoreRequests(grpc::ServerContext* ctx,
                                   const shoebox::v1::ListRestoreRequestsRequest* req,
                                   shoebox::v1::ListRestoreRequestsResponse* resp) override;

 private:
  Coordinator* const c_;
};

}  // namespace shoebox::coordinator
