// Identities and the audit log: enrollment tokens, issued certificates,
// audit entries. Implemented by the PostgreSQL store (pg_identity.cc,
// pg_audit.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator {

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  virtual absl::Status Audit(const AuditEntry& e) = 0;
  // Appends an entry and returns its row ID (for AddAuditCount).
  virtual absl::StatusOr<int64_t> InsertAudit(const AuditEntry& e) = 0;
  // Adds `n` to the count of row `id` (later identical refusals).
  virtual absl::Status AddAuditCount(int64_t id, uint64_t n) = 0;
  // Deletes entries older than `keep_days` (0: none by age), then the oldest
  // beyond the newest `max_rows` (0: no bound); returns how many went.
  virtual absl::StatusOr<uint64_t> PruneAudit(uint32_t keep_days, uint64_t max_rows) = 0;
  // The newest `limit` entries, newest first.
  virtual absl::StatusOr<std::vector<AuditEntry>> RecentAudit(uint32_t limit) = 0;

  // Exactly one of device and worker is set.
  virtual absl::Status CreateEnrollToken(const std::string& token_sha256, const std::string& device,
                                         const std::string& worker, int64_t expires_unix_ms) = 0;
  // The certificate for the identity a token names (Enrollment signs it).
  using IssueForName = std::function<absl::StatusOr<CertificateRow>(const std::string& name)>;
  // In one transaction: checks the token, marks it used by `used_by` (the
  // enrolling peer), calls `issue` with the identity it names and records
  // the certificate `issue` returns; either all of it happens or nothing
  // (a failed issue or record leaves the token unused). Returns the name.
  // NOT_FOUND for an unknown (forged) token, FAILED_PRECONDITION naming when
  // it was used / when it expired, PERMISSION_DENIED when it names the other
  // role ("device"/"worker"). `issue` may be called more than once when the
  // transaction is retried.
  virtual absl::StatusOr<std::string> ConsumeEnrollToken(const std::string& token_sha256,
                                                         const std::string& role,
                                                         const std::string& used_by,
                                                         const IssueForName& issue) = 0;
  // Records an issued certificate (no-op when the serial is known).
  virtual absl::Status RecordCertificate(const CertificateRow& c) = 0;
  // The certificate with this serial; NOT_FOUND when never recorded.
  virtual absl::StatusOr<CertificateRow> GetCertificate(const std::string& serial) = 0;
  // Revokes every certificate of role/name (and marks a device revoked);
  // returns how many were revoked. NOT_FOUND when none was ever issued.
  virtual absl::StatusOr<uint64_t> RevokeIdentity(const std::string& role,
                                                  const std::string& name) = 0;
  // Revokes the one certificate with this serial (any role; a device's row
  // is not marked revoked, its other certificates stay valid). Returns the
  // row as it was before. NOT_FOUND when never recorded; FAILED_PRECONDITION
  // when it is the last unrevoked, unexpired admin certificate (nobody could
  // administer the coordinator any more). Already revoked: no change.
  virtual absl::StatusOr<CertificateRow> RevokeCertificate(const std::string& serial) = 0;
  // All recorded certificates, newest first.
  virtual absl::StatusOr<std::vector<CertificateRow>> ListCertificates() = 0;
};

}  // namespace shoebox::coordinator
