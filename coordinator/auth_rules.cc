// The authorisation table: every RPC the coordinator serves and the one role
// that may call it (docs/security.md, "Authorisation"). The server's
// interceptor consults it for every call before the handler runs
// (Authenticator::Decide); a method that is not here is refused for
// everyone. tests/coordinator/authz_matrix_test.cc calls every method of
// every service in proto/shoebox/v1 as every role and fails for a method
// without a row of its own, so a new RPC cannot be added without deciding
// who may call it.
#include <string_view>
#include <vector>

#include "coordinator/auth.h"

namespace shoebox::coordinator {

const std::vector<MethodRule>& MethodRules() {
  static const std::vector<MethodRule> kRules = {
      // Enrollment: the caller has no certificate yet (the token is the
      // credential; rate limited per address).
      {"/shoebox.v1.AgentService/Enroll", "Enroll", Access::kAnonymous},
      {"/shoebox.v1.WorkerService/Enroll", "WorkerEnroll", Access::kAnonymous},
      // Load balancers and systemd watchdogs probe health without one.
      {"/grpc.health.v1.Health/Check", "HealthCheck", Access::kAnonymous},
      {"/grpc.health.v1.Health/Watch", "HealthWatch", Access::kAnonymous},

      {"/shoebox.v1.AgentService/Hello", "Hello", Access::kDevice},
      {"/shoebox.v1.AgentService/Heartbeat", "Heartbeat", Access::kDevice},
      {"/shoebox.v1.AgentService/ReportFiles", "ReportFiles", Access::kDevice},
      {"/shoebox.v1.AgentService/PutChunks", "PutChunks", Access::kDevice},
      {"/shoebox.v1.AgentService/ListVersions", "ListVersions", Access::kDevice},
      {"/shoebox.v1.AgentService/ReadChunks", "ReadChunks", Access::kDevice},
      // Issue 22: the outcome of the caller's own restore request (checked in
      // the store: another device's request is NOT_FOUND).
      {"/shoebox.v1.AgentService/ReportRestore", "ReportRestore", Access::kDevice},

      {"/shoebox.v1.WorkerService/RegisterWorker", "RegisterWorker", Access::kWorker},
      {"/shoebox.v1.WorkerService/LeaseJobs", "LeaseJobs", Access::kWorker},
      {"/shoebox.v1.WorkerService/RenewLease", "RenewLease", Access::kWorker},
      {"/shoebox.v1.WorkerService/CompleteJob", "CompleteJob", Access::kWorker},
      // Issue 23: each entry checks its lease as CompleteJob does.
      {"/shoebox.v1.WorkerService/CompleteJobs", "CompleteJobs", Access::kWorker},
      {"/shoebox.v1.WorkerService/FailJob", "FailJob", Access::kWorker},
      {"/shoebox.v1.WorkerService/ReadChunks", "WorkerReadChunks", Access::kWorker},
      {"/shoebox.v1.WorkerService/RepairChunk", "RepairChunk", Access::kWorker},
      // Both also require the caller to hold a lease (checked in the store):
      // a rotated refresh token for that destination, a resume point for
      // that job.
      {"/shoebox.v1.WorkerService/UpdateDestinationCredentials", "UpdateDestinationCredentials",
       Access::kWorker},
      {"/shoebox.v1.WorkerService/SaveResumeState", "SaveResumeState", Access::kWorker},
      // Issue 20: a destination's album directory, also only under a lease
      // of one of its jobs (checked in the store, album_store.h).
      {"/shoebox.v1.WorkerService/LookupAlbum", "LookupAlbum", Access::kWorker},
      {"/shoebox.v1.WorkerService/RecordAlbum", "RecordAlbum", Access::kWorker},
      {"/shoebox.v1.WorkerService/ForgetAlbum", "ForgetAlbum", Access::kWorker},
      // Issue 21: transfers, only under a lease of one of the transfer's
      // jobs (checked in the store, transfer_store.h).
      {"/shoebox.v1.WorkerService/ReportListing", "ReportListing", Access::kWorker},
      {"/shoebox.v1.WorkerService/IngestItem", "IngestItem", Access::kWorker},

      {"/shoebox.v1.AdminService/CreateDestination", "CreateDestination", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListDestinations", "ListDestinations", Access::kAdmin},
      {"/shoebox.v1.AdminService/UpdateDestination", "UpdateDestination", Access::kAdmin},
      {"/shoebox.v1.AdminService/RemoveDestination", "RemoveDestination", Access::kAdmin},
      {"/shoebox.v1.AdminService/PauseDestination", "PauseDestination", Access::kAdmin},
      {"/shoebox.v1.AdminService/CheckDestination", "CheckDestination", Access::kAdmin},
      {"/shoebox.v1.AdminService/GetDestinationCheck", "GetDestinationCheck", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListBindings", "ListBindings", Access::kAdmin},
      {"/shoebox.v1.AdminService/UnbindFolder", "UnbindFolder", Access::kAdmin},
      {"/shoebox.v1.AdminService/BindFolder", "BindFolder", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListDevices", "ListDevices", Access::kAdmin},
      {"/shoebox.v1.AdminService/GetStatus", "GetStatus", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListJobs", "ListJobs", Access::kAdmin},
      {"/shoebox.v1.AdminService/CancelJobs", "CancelJobs", Access::kAdmin},
      {"/shoebox.v1.AdminService/RetryJobs", "RetryJobs", Access::kAdmin},
      {"/shoebox.v1.AdminService/SetJobPriority", "SetJobPriority", Access::kAdmin},
      {"/shoebox.v1.AdminService/CreateEnrollToken", "CreateEnrollToken", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListVersions", "AdminListVersions", Access::kAdmin},
      {"/shoebox.v1.AdminService/ReadChunks", "AdminReadChunks", Access::kAdmin},
      {"/shoebox.v1.AdminService/Verify", "Verify", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListCertificates", "ListCertificates", Access::kAdmin},
      {"/shoebox.v1.AdminService/Revoke", "Revoke", Access::kAdmin},
      {"/shoebox.v1.AdminService/SetRetention", "SetRetention", Access::kAdmin},
      {"/shoebox.v1.AdminService/GetRetention", "GetRetention", Access::kAdmin},
      {"/shoebox.v1.AdminService/Prune", "Prune", Access::kAdmin},
      {"/shoebox.v1.AdminService/CreateSnapshot", "CreateSnapshot", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListSnapshots", "ListSnapshots", Access::kAdmin},
      {"/shoebox.v1.AdminService/SetWorkerScope", "SetWorkerScope", Access::kAdmin},
      // Issue 21: server-side ingest of a source's items (a Takeout archive).
      {"/shoebox.v1.AdminService/ImportItems", "ImportItems", Access::kAdmin},
      // Issue 22: web dashboard accounts (docs/web.md). The hash goes only
      // to an admin identity: the `shoebox web` process that checks
      // passwords.
      {"/shoebox.v1.AdminService/CreateWebAccount", "CreateWebAccount", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListWebAccounts", "ListWebAccounts", Access::kAdmin},
      {"/shoebox.v1.AdminService/SetWebAccountPassword", "SetWebAccountPassword", Access::kAdmin},
      {"/shoebox.v1.AdminService/GetWebAccountCredential", "GetWebAccountCredential",
       Access::kAdmin},
      {"/shoebox.v1.AdminService/RecordWebAudit", "RecordWebAudit", Access::kAdmin},
      // Issue 22, slice 2: the TOTP secret goes only to an admin identity
      // (the web process); device bindings; the audit log.
      {"/shoebox.v1.AdminService/SetWebAccountTotp", "SetWebAccountTotp", Access::kAdmin},
      {"/shoebox.v1.AdminService/GetWebAccountTotp", "GetWebAccountTotp", Access::kAdmin},
      {"/shoebox.v1.AdminService/UseWebAccountTotpStep", "UseWebAccountTotpStep", Access::kAdmin},
      {"/shoebox.v1.AdminService/BindWebAccountDevice", "BindWebAccountDevice", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListAuditLog", "ListAuditLog", Access::kAdmin},
      // Issue 21: transfers (docs/transfers.md).
      {"/shoebox.v1.AdminService/AddTransfer", "AddTransfer", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListTransfers", "ListTransfers", Access::kAdmin},
      {"/shoebox.v1.AdminService/PauseTransfer", "PauseTransfer", Access::kAdmin},
      {"/shoebox.v1.AdminService/ResumeTransfer", "ResumeTransfer", Access::kAdmin},
      {"/shoebox.v1.AdminService/CancelTransfer", "CancelTransfer", Access::kAdmin},
      // Issue 22: notifications (docs/notifications.md).
      {"/shoebox.v1.AdminService/AddNotifyChannel", "AddNotifyChannel", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListNotify", "ListNotify", Access::kAdmin},
      {"/shoebox.v1.AdminService/RemoveNotifyChannel", "RemoveNotifyChannel", Access::kAdmin},
      {"/shoebox.v1.AdminService/TestNotifyChannel", "TestNotifyChannel", Access::kAdmin},
      {"/shoebox.v1.AdminService/SetNotifySetting", "SetNotifySetting", Access::kAdmin},
      {"/shoebox.v1.AdminService/SetDevicePingUrl", "SetDevicePingUrl", Access::kAdmin},
      // Issue 22: recently deleted and restore requests (docs/web.md). The
      // web process asks with the member's devices in `devices`.
      {"/shoebox.v1.AdminService/ListDeleted", "ListDeleted", Access::kAdmin},
      {"/shoebox.v1.AdminService/RequestRestore", "RequestRestore", Access::kAdmin},
      {"/shoebox.v1.AdminService/ListRestoreRequests", "ListRestoreRequests", Access::kAdmin},
  };
  return kRules;
}

const MethodRule* FindMethodRule(std::string_view full_method) {
  for (const MethodRule& r : MethodRules()) {
    if (full_method == r.method) return &r;
  }
  return nullptr;
}

}  // namespace shoebox::coordinator
