#include "coordinator/tls.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/log.h"
#include "common/status.h"
#include "coordinator/store/identity_store.h"

namespace shoebox::coordinator {

namespace {

namespace fs = std::filesystem;

bool Exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

absl::StatusOr<std::string> ReadPublic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", strerror(errno),
                                            "; check the path and permissions"));
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

absl::Status WritePublic(const std::string& path, const std::string& data) {
  RETURN_IF_ERROR(WriteSecretFile(path, data));
  if (chmod(path.c_str(), 0644) != 0) {
    return absl::InternalError(absl::StrCat("chmod 0644 ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

bool LooksLikeIp(const std::string& s) {
  return s.find_first_not_of("0123456789.") == std::string::npos ||
         (s.find(':') != std::string::npos &&
          s.find_first_not_of("0123456789abcdefABCDEF:") == std::string::npos);
}

}  // namespace

std::string TlsDir(const CoordinatorOptions& o) {
  if (!o.tls.dir.empty()) return o.tls.dir;
  fs::path k(o.key_file);
  return (k.has_parent_path() ? k.parent_path() / "tls" : fs::path("tls")).string();
}

absl::StatusOr<CoordinatorPki> LoadOrCreatePki(const CoordinatorOptions& o) {
  const std::string dir = TlsDir(o);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create TLS directory ", dir, ": ", ec.message()));
  chmod(dir.c_str(), 0700);
  CoordinatorPki pki;

  // The CA.
  const std::string ca_crt = o.tls.ca_cert_file.empty() ? dir + "/ca.crt" : o.tls.ca_cert_file;
  const std::string ca_key = o.tls.ca_key_file.empty() ? dir + "/ca.key" : o.tls.ca_key_file;
  if (!Exists(ca_crt) && !Exists(ca_key) && o.tls.ca_cert_file.empty()) {
    ASSIGN_OR_RETURN(KeyAndCert ca, CreateCa("Shoebox coordinator CA", 20 * 365));
    RETURN_IF_ERROR(WriteSecretFile(ca_key, ca.key_pem));
    RETURN_IF_ERROR(WritePublic(ca_crt, ca.cert_pem));
    SPDLOG_INFO("event=tls_ca_created dir=\"{}\"", dir);
  }
  ASSIGN_OR_RETURN(pki.ca.cert_pem, ReadPublic(ca_crt));
  ASSIGN_OR_RETURN(pki.ca.key_pem, ReadSecretFile(ca_key));
  ASSIGN_OR_RETURN(CertInfo ca_info, ParseCert(pki.ca.cert_pem));
  pki.ca_fingerprint = ca_info.fingerprint_hex;

  // The server certificate.
  const std::string srv_crt = o.tls.cert_file.empty() ? dir + "/server.crt" : o.tls.cert_file;
  const std::string srv_key = o.tls.key_file.empty() ? dir + "/server.key" : o.tls.key_file;
  if (o.tls.cert_file.empty() && !Exists(srv_crt)) {
    ASSIGN_OR_RETURN(std::string key, GenerateKeyPem());
    ASSIGN_OR_RETURN(std::string pub, PublicKeyPem(key));
    IssueParams p;
    p.public_key_pem = pub;
    p.common_name = kCoordinatorTlsName;
    p.org_unit = "server";
    p.days = 10 * 365;
    p.server = true;
    p.dns_names = {kCoordinatorTlsName, "localhost"};
    p.ip_addresses = {"127.0.0.1", "::1"};
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0 && host[0] != 0) p.dns_names.push_back(host);
    for (const std::string& n : o.tls.names)
      (LooksLikeIp(n) ? p.ip_addresses : p.dns_names).push_back(n);
    ASSIGN_OR_RETURN(std::string cert, IssueCert(pki.ca, p));
    RETURN_IF_ERROR(WriteSecretFile(srv_key, key));
    RETURN_IF_ERROR(WritePublic(srv_crt, cert + pki.ca.cert_pem));
  }
  ASSIGN_OR_RETURN(pki.server_chain_pem, ReadPublic(srv_crt));
  ASSIGN_OR_RETURN(pki.server_key_pem, ReadSecretFile(srv_key));
  ASSIGN_OR_RETURN(std::vector<std::string> chain, SplitPemBundle(pki.server_chain_pem));
  // Clients find the CA in the chain at enrollment: make sure it is there.
  bool has_ca = false;
  for (const auto& c : chain) {
    auto ci = ParseCert(c);
    if (ci.ok() && ci->fingerprint_hex == pki.ca_fingerprint) has_ca = true;
  }
  if (!has_ca) pki.server_chain_pem += pki.ca.cert_pem;

  // The local admin's client certificate (used by the CLI on this machine):
  // made when missing or near its end (within a tenth of its lifetime).
  const std::string adm_crt = dir + "/admin.crt";
  bool renew = !Exists(adm_crt);
  if (!renew) {
    ASSIGN_OR_RETURN(pki.admin_cert_pem, ReadSecretFile(adm_crt));
    absl::StatusOr<CertInfo> info = ParseCert(pki.admin_cert_pem);
    const int64_t margin_s = int64_t{o.tls.admin_cert_days} * 86400 / 10;
    renew = !info.ok() || info->not_after_unix - margin_s < absl::ToUnixSeconds(absl::Now());
  }
  if (renew) RETURN_IF_ERROR(RenewLocalAdminCertificate(o, &pki));
  return pki;
}

absl::Status RenewLocalAdminCertificate(const CoordinatorOptions& o, CoordinatorPki* pki) {
  const std::string dir = TlsDir(o);
  ASSIGN_OR_RETURN(std::string key, GenerateKeyPem());
  ASSIGN_OR_RETURN(std::string pub, PublicKeyPem(key));
  IssueParams p;
  p.public_key_pem = pub;
  p.common_name = "admin";
  p.org_unit = "admin";
  p.days = static_cast<int>(o.tls.admin_cert_days);
  ASSIGN_OR_RETURN(std::string cert, IssueCert(pki->ca, p));
  RETURN_IF_ERROR(WriteSecretFile(dir + "/admin.key", key));
  RETURN_IF_ERROR(WriteSecretFile(dir + "/admin.crt", cert));
  pki->admin_cert_pem = cert;
  SPDLOG_INFO("event=tls_admin_certificate_issued dir=\"{}\" days={}", dir, p.days);
  return absl::OkStatus();
}

std::string EnrollSecretHash(const std::string& secret_hex) {
  return DigestToString(Sha256::Of(secret_hex));
}

std::pair<std::string, std::string> Enrollment::NewToken() const {
  uint8_t raw[32];
  SecureRandom(raw, sizeof raw);
  EnrollToken t{ToHex(ByteSpan(raw, sizeof raw)), pki_.ca_fingerprint};
  return {FormatEnrollToken(t), EnrollSecretHash(t.secret)};
}

absl::StatusOr<EnrollResult> Enrollment::Enroll(const std::string& role, const std::string& token,
                                                const std::string& csr_pem,
                                                const std::string& peer) {
  ASSIGN_OR_RETURN(EnrollToken t, ParseEnrollToken(token));
  if (t.ca_fingerprint != pki_.ca_fingerprint) {
    return absl::PermissionDeniedError(
        "enroll token was issued by another coordinator (its CA fingerprint differs from this "
        "one's); ask this coordinator's admin for a token");
  }
  // Check the CSR before consuming the token, so a broken client can retry.
  ASSIGN_OR_RETURN(std::string pub, CsrPublicKeyPem(csr_pem));
  // Token consumed and certificate recorded in one transaction.
  std::string cert;
  CertInfo info;
  ASSIGN_OR_RETURN(
      std::string name,
      store_->ConsumeEnrollToken(EnrollSecretHash(t.secret), role, peer,
                                 [&](const std::string& holder) -> absl::StatusOr<CertificateRow> {
                                   IssueParams p;
                                   p.public_key_pem = pub;
                                   p.common_name = holder;
                                   p.org_unit = role;
                                   p.days = static_cast<int>(days_);
                                   ASSIGN_OR_RETURN(cert, IssueCert(pki_.ca, p));
                                   ASSIGN_OR_RETURN(info, ParseCert(cert));
                                   CertificateRow row;
                                   row.serial = info.serial_hex;
                                   row.role = role;
                                   row.name = holder;
                                   row.fingerprint = info.fingerprint_hex;
                                   row.expires_unix_ms = info.not_after_unix * 1000;
                                   return row;
                                 }));
  SPDLOG_INFO("event=enrolled role={} name=\"{}\" serial={} peer={}", role, PrintablePath(name),
              info.serial_hex, peer);
  return EnrollResult{name, cert, pki_.ca.cert_pem};
}

}  // namespace shoebox::coordinator
