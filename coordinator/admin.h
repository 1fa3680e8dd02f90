// The admin side as a plain class: destinations, bindings, devices, status,
// jobs. Every change is written to the audit log with the admin's name.
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "coordinator/auth.h"
#include "coordinator/catalog.h"
#include "coordinator/options.h"
#include "coordinator/store/catalog_store.h"
#include "coordinator/store/destination_store.h"
#include "coordinator/store/identity_store.h"
#include "coordinator/store/queue_store.h"
#include "coordinator/store/status_store.h"
#include "coordinator/store/verify_store.h"
#include "coordinator/tls.h"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::coordinator {

// The stores Admin uses, borrowed; all must outlive it.
struct AdminStores {
  CatalogStore* catalog = nullptr;           // devices
  DestinationStore* destinations = nullptr;  // destinations, bindings
  QueueStore* queue = nullptr;               // job listings and actions
  StatusStore* status = nullptr;
  IdentityStore* identity = nullptr;  // tokens, certificates, audit
  VerifyStore* verify = nullptr;      // copies and damage in the status
};

class Admin {
 public:
  // Borrows everything; all must outlive the admin.
  Admin(const AdminStores& stores, Catalog* catalog, const Limits& limits)
      : stores_(stores), catalog_(catalog), limits_(limits) {}

  // name: 1..64 of [A-Za-z0-9._-]; kind non-empty; settings_json a JSON
  // object (or empty); ALREADY_EXISTS for a taken name.
  absl::StatusOr<shoebox::v1::Destination> CreateDestination(
      const std::string& admin, const shoebox::v1::CreateDestinationRequest& req);
  absl::StatusOr<shoebox::v1::ListDestinationsResponse> ListDestinations();
  // Day two (issue 16, docs/destinations.md); admin_destinations.cc.
  // The settings after the patch are validated as a whole against the kind
  // (INVALID_ARGUMENT naming the key); NOT_FOUND for an unknown name.
  absl::StatusOr<shoebox::v1::UpdateDestinationResponse> UpdateDestination(
      const std::string& admin, const shoebox::v1::UpdateDestinationRequest& req);
  absl::StatusOr<shoebox::v1::RemoveDestinationResponse> RemoveDestination(
      const std::string& admin, const shoebox::v1::RemoveDestinationRequest& req);
  absl::StatusOr<shoebox::v1::Destination> PauseDestination(
      const std::string& admin, const shoebox::v1::PauseDestinationRequest& req);
  absl::StatusOr<shoebox::v1::DestinationCheck> CheckDestination(
      const std::string& admin, const shoebox::v1::CheckDestinationRequest& req);
  absl::StatusOr<shoebox::v1::DestinationCheck> GetDestinationCheck(
      const shoebox::v1::GetDestinationCheckRequest& req);
  absl::StatusOr<shoebox::v1::ListBindingsResponse> ListBindings(
      const shoebox::v1::ListBindingsRequest& req);
  absl::StatusOr<shoebox::v1::UnbindFolderResponse> UnbindFolder(
      const std::string& admin, const shoebox::v1::UnbindFolderRequest& req);
  absl::StatusOr<shoebox::v1::BindFolderResponse> BindFolder(
      const std::string& admin, const shoebox::v1::BindFolderRequest& req);
  absl::StatusOr<shoebox::v1::ListDevicesResponse> ListDevices();
  absl::StatusOr<shoebox::v1::StatusResponse> GetStatus();
  absl::StatusOr<shoebox::v1::ListJobsResponse> ListJobs(const shoebox::v1::ListJobsRequest& req);
  // At least one filter is required (INVALID_ARGUMENT otherwise).
  absl::StatusOr<shoebox::v1::JobActionResponse> CancelJobs(const std::string& admin,
                                                            const shoebox::v1::JobSelector& sel);
  // Without job IDs and states, retries DEAD jobs. Also lifts the
  // authentication pause of the destinations concerned.
  absl::StatusOr<shoebox::v1::JobActionResponse> SetJobPriority(
      const std::string& admin, const shoebox::v1::SetJobPriorityRequest& req);
  absl::StatusOr<shoebox::v1::JobActionResponse> RetryJobs(const std::string& admin,
                                                           const shoebox::v1::JobSelector& sel);
  // A worker token with worker_kinds/worker_destinations records that
  // scope (SetWorkerScope) once the token is made.
  absl::StatusOr<shoebox::v1::CreateEnrollTokenResponse> CreateEnrollToken(
      const std::string& admin, const shoebox::v1::CreateEnrollTokenRequest& req);
  // What a worker may serve (issue 17); applies at its next lease.
  absl::Status SetWorkerScope(const std::string& admin,
                              const shoebox::v1::SetWorkerScopeRequest& req);
  absl::StatusOr<shoebox::v1::ListVersionsResponse> ListVersions(
      const shoebox::v1::ListVersionsRequest& req);
  absl::StatusOr<shoebox::v1::ListCertificatesResponse> ListCertificates();
  absl::StatusOr<shoebox::v1::RevokeResponse> Revoke(const std::string& admin,
                                                     const shoebox::v1::RevokeRequest& req);
  // Enrollment (TLS mode); without it CreateEnrollToken refuses.
  void set_enrollment(Enrollment* e, const Authenticator* auth) {
    enrollment_ = e;
    auth_ = auth;
  }

 private:
  void AuditOk(const std::string& admin, const std::string& action, const std::string& target,
               const std::string& detail);

  const AdminStores stores_;
  Catalog* const catalog_;
  const Limits limits_;
  Enrollment* enrollment_ = nullptr;
  const Authenticator* auth_ = nullptr;
};

}  // namespace shoebox::coordinator
