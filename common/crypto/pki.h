// Shoebox's private PKI (OpenSSL 3): the coordinator's CA, its server
// certificate, client certificates issued at enrollment, and the one-time
// enrollment tokens that carry the CA's fingerprint.
//
// Keys are ECDSA P-256. Client certificates name their holder in the subject:
// CN = device/worker name, OU = role ("device", "worker" or "admin"). The
// server certificate always carries the DNS name kCoordinatorTlsName, which
// clients verify (target-name override) whatever address they dial: trust is
// anchored on the pinned private CA, not on public DNS. See docs/security.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox {

inline constexpr char kCoordinatorTlsName[] = "shoebox-coordinator";

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

struct CertInfo {
  std::string common_name;
  std::string org_unit;
  std::string serial_hex;       // lower-case hex, no leading zeros
  std::string fingerprint_hex;  // SHA-256 of the DER encoding
  int64_t not_after_unix = 0;
};

// A fresh ECDSA P-256 private key (PKCS#8 PEM).
absl::StatusOr<std::string> GenerateKeyPem();
// A certificate signing request for `key_pem` with CN = `common_name`.
absl::StatusOr<std::string> MakeCsrPem(const std::string& key_pem, const std::string& common_name);
// The public key of a CSR after checking its self-signature (INVALID_ARGUMENT
// when malformed or not signed by its own key).
absl::StatusOr<std::string> CsrPublicKeyPem(const std::string& csr_pem);

// A self-signed CA certificate valid for `days`.
absl::StatusOr<KeyAndCert> CreateCa(const std::string& common_name, int days);

struct IssueParams {
  std::string public_key_pem;  // subject's public key
  std::string common_name;
  std::string org_unit;
  int days = 3650;
  bool server = false;                 // serverAuth + SANs below, else clientAuth
  std::vector<std::string> dns_names;  // server only
  std::vector<std::string> ip_addresses;
};
// A certificate signed by the CA, with a random 128-bit serial.
absl::StatusOr<std::string> IssueCert(const KeyAndCert& ca, const IssueParams& p);
// The public key (PEM) of a private key.
absl::StatusOr<std::string> PublicKeyPem(const std::string& key_pem);

absl::StatusOr<CertInfo> ParseCert(const std::string& cert_pem);
// All certificates in a PEM bundle, in order.
absl::StatusOr<std::vector<std::string>> SplitPemBundle(const std::string& pem);

// Connects to host:port with TLS (ALPN h2) without verifying, and returns the
// certificate chain the server presented (PEM, leaf first). Used once, at
// enrollment, to find the CA whose fingerprint the token pins.
absl::StatusOr<std::vector<std::string>> FetchPeerChain(const std::string& host_port,
                                                        int timeout_ms = 10000);

// Enrollment tokens: "sbx1-<64 hex secret>-<64 hex CA fingerprint>".
struct EnrollToken {
  std::string secret;          // the part the coordinator stores hashed
  std::string ca_fingerprint;  // lower-case hex SHA-256 of the CA's DER
};
std::string FormatEnrollToken(const EnrollToken& t);
// INVALID_ARGUMENT naming what is wrong (the token itself is never echoed).
absl::StatusOr<EnrollToken> ParseEnrollToken(std::string_view token);

}  // namespace shoebox
