// The coordinator's TLS identity and enrollment: its CA (created on first
// start in the TLS directory, or the operator's), its server certificate,
// the local admin certificate the CLI uses, and the exchange of a one-time
// token plus a CSR for a client certificate. docs/security.md explains it.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/pki.h"
#include "coordinator/options.h"

namespace shoebox::coordinator {

class IdentityStore;

struct CoordinatorPki {
  KeyAndCert ca;
  std::string server_key_pem;
  std::string server_chain_pem;  // server certificate followed by the CA
  std::string ca_fingerprint;    // hex SHA-256 of the CA certificate (DER)
  std::string admin_cert_pem;    // the local admin's client certificate
};

// The TLS directory: options.tls.dir, else "tls" beside the key file.
std::string TlsDir(const CoordinatorOptions& o);

// Loads the PKI from the TLS directory, creating what is missing: ca.key/
// ca.crt (unless the operator gave a CA), server.key/server.crt (unless
// given), admin.key/admin.crt (also made again when within a tenth of
// tls.admin_cert_days of expiring). Keys are 0600 and refused when readable
// by others; the directory is 0700.
absl::StatusOr<CoordinatorPki> LoadOrCreatePki(const CoordinatorOptions& o);

// Issues a new local admin certificate (admin.key/admin.crt in the TLS
// directory, tls.admin_cert_days) and puts it in pki->admin_cert_pem. The
// coordinator calls it at start when the catalog says the current one was
// revoked; the old one is not revoked by this.
absl::Status RenewLocalAdminCertificate(const CoordinatorOptions& o, CoordinatorPki* pki);

struct EnrollResult {
  std::string name;
  std::string certificate_pem;
  std::string ca_certificate_pem;
};

class Enrollment {
 public:
  Enrollment(CoordinatorPki pki, IdentityStore* store, uint32_t client_cert_days)
      : pki_(std::move(pki)), store_(store), days_(client_cert_days) {}

  const CoordinatorPki& pki() const { return pki_; }

  // A new token for role "device"/"worker" (the caller stores its hash).
  // Returns {printable token, sha256 of the secret}.
  std::pair<std::string, std::string> NewToken() const;

  // Checks and consumes the token for `role`, signs the CSR's key into a
  // certificate naming the holder, and records it. Errors name what is wrong
  // and what to do; the token is never logged.
  absl::StatusOr<EnrollResult> Enroll(const std::string& role, const std::string& token,
                                      const std::string& csr_pem, const std::string& peer);

 private:
  const CoordinatorPki pki_;
  IdentityStore* const store_;
  const uint32_t days_;
};

// SHA-256 (raw 32 bytes) of a token's secret part, as stored in the catalog.
std::string EnrollSecretHash(const std::string& secret_hex);

}  // namespace shoebox::coordinator
