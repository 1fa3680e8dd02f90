// Identities and the audit log: enrollment tokens, issued certificates,
// audit entries. Implemented by the PostgreSQL store (pg_identity.cc,
// pg_audit.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
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
  // The newest `limit` entries, newest first.
  virtual absl::StatusOr<std::vector<AuditEntry>> RecentAudit(uint32_t limit) = 0;

  // Exactly one of device and worker is set.
  virtual absl::Status CreateEnrollToken(const std::string& token_sha256, const std::string& device,
                                         const std::string& worker, int64_t expires_unix_ms) = 0;
  // Marks the token used by `used_by` (the enrolling peer) and returns the
  // identity it names. NOT_FOUND for an unknown (forged) token,
  // FAILED_PRECONDITION naming when it was used / when it expired,
  // PERMISSION_DENIED when it names the other role ("device"/"worker").
  virtual absl::StatusOr<std::string> ConsumeEnrollToken(const std::string& token_sha256,
                                                         const std::string& role,
                                                         const std::string& used_by) = 0;
  // Records an issued certificate (no-op when the serial is known).
  virtual absl::Status RecordCertificate(const CertificateRow& c) = 0;
  // The certificate with this serial; NOT_FOUND when never recorded.
  virtual absl::StatusOr<CertificateRow> GetCertificate(const std::string& serial) = 0;
  // Revokes every certificate of role/name (and marks a device revoked);
  // returns how many were revoked. NOT_FOUND when none was ever issued.
  virtual absl::StatusOr<uint64_t> RevokeIdentity(const std::string& role,
                                                  const std::string& name) = 0;
  // All recorded certificates, newest first.
  virtual absl::StatusOr<std::vector<CertificateRow>> ListCertificates() = 0;
};

}  // namespace shoebox::coordinator
