#include "common/crypto/pki.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"

namespace shoebox {

namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

std::string OpenSslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return absl::StrCat(what, ": ", std::string(buf));
}

BioPtr MemBio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string BioString(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<PkeyPtr> LoadKey(const std::string& pem) {
  BioPtr b = MemBio(pem);
  PkeyPtr k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  if (!k) return absl::InvalidArgumentError(OpenSslError("private key is not a valid PEM key"));
  return k;
}

absl::StatusOr<PkeyPtr> LoadPublicKey(const std::string& pem) {
  BioPtr b = MemBio(pem);
  PkeyPtr k(PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr));
  if (!k) return absl::InvalidArgumentError(OpenSslError("public key is not valid PEM"));
  return k;
}

absl::StatusOr<X509Ptr> LoadCert(const std::string& pem) {
  BioPtr b = MemBio(pem);
  X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) return absl::InvalidArgumentError(OpenSslError("certificate is not valid PEM"));
  return c;
}

absl::StatusOr<std::string> CertPem(X509* c) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(b.get(), c))
    return absl::InternalError(OpenSslError("writing certificate"));
  return BioString(b.get());
}

std::string NameEntry(X509_NAME* name, int nid) {
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

absl::Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return absl::InternalError(OpenSslError(absl::StrCat("extension ", value)));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return absl::InternalError(OpenSslError("adding extension"));
  return absl::OkStatus();
}

absl::Status SetRandomSerial(X509* c) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return absl::InternalError(OpenSslError("random serial"));
  raw[0] &= 0x7f;  // positive
  raw[0] |= 0x01;  // never zero, never a leading zero byte
  BnPtr bn(BN_bin2bn(raw, sizeof raw, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(c)))
    return absl::InternalError(OpenSslError("setting serial"));
  return absl::OkStatus();
}

absl::Status SetNameAndValidity(X509* c, const std::string& cn, const std::string& ou, int days) {
  X509_NAME* name = X509_get_subject_name(c);
  auto add = [&](const char* field, const std::string& v) {
    if (v.empty()) return true;
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(v.data()),
                                      static_cast<int>(v.size()), -1, 0) == 1;
  };
  if (!add("O", "Shoebox") || !add("OU", ou) || !add("CN", cn))
    return absl::InvalidArgumentError(OpenSslError("certificate subject"));
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);  // tolerate clock skew
  X509_time_adj_ex(X509_getm_notAfter(c), days, 0, nullptr);
  X509_set_version(c, 2);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> GenerateKeyPem() {
  PkeyPtr k(EVP_EC_gen("P-256"));
  if (!k) return absl::InternalError(OpenSslError("generating a P-256 key"));
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(b.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return absl::InternalError(OpenSslError("writing key"));
  return BioString(b.get());
}

absl::StatusOr<std::string> PublicKeyPem(const std::string& key_pem) {
  auto k = LoadKey(key_pem);
  if (!k.ok()) return k.status();
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PUBKEY(b.get(), k->get()))
    return absl::InternalError(OpenSslError("public key"));
  return BioString(b.get());
}

absl::StatusOr<std::string> MakeCsrPem(const std::string& key_pem, const std::string& common_name) {
  auto k = LoadKey(key_pem);
  if (!k.ok()) return k.status();
  ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(common_name.data()),
                                  static_cast<int>(common_name.size()), -1, 0) ||
      !X509_REQ_set_pubkey(req.get(), k->get()) ||
      X509_REQ_sign(req.get(), k->get(), EVP_sha256()) <= 0) {
    return absl::InternalError(OpenSslError("creating the certificate request"));
  }
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509_REQ(b.get(), req.get()))
    return absl::InternalError(OpenSslError("writing CSR"));
  return BioString(b.get());
}

absl::StatusOr<std::string> CsrPublicKeyPem(const std::string& csr_pem) {
  if (csr_pem.size() > 16384) return absl::InvalidArgumentError("csr_pem: longer than 16 KiB");
  BioPtr b = MemBio(csr_pem);
  ReqPtr req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
  if (!req)
    return absl::InvalidArgumentError(OpenSslError("csr_pem: not a PEM certificate request"));
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr || X509_REQ_verify(req.get(), pub) != 1)
    return absl::InvalidArgumentError(
        OpenSslError("csr_pem: request is not signed by its own key"));
  if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC || EVP_PKEY_get_bits(pub) < 256)
    return absl::InvalidArgumentError("csr_pem: key must be ECDSA P-256 or stronger");
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PUBKEY(out.get(), pub)) return absl::InternalError(OpenSslError("public key"));
  return BioString(out.get());
}

absl::StatusOr<KeyAndCert> CreateCa(const std::string& common_name, int days) {
  KeyAndCert out;
  auto key = GenerateKeyPem();
  if (!key.ok()) return key.status();
  out.key_pem = *key;
  auto k = LoadKey(out.key_pem);
  if (!k.ok()) return k.status();
  X509Ptr c(X509_new());
  if (auto st = SetRandomSerial(c.get()); !st.ok()) return st;
  if (auto st = SetNameAndValidity(c.get(), common_name, "ca", days); !st.ok()) return st;
  X509_set_issuer_name(c.get(), X509_get_subject_name(c.get()));
  X509_set_pubkey(c.get(), k->get());
  for (auto [nid, v] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                        std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                        std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto st = AddExt(c.get(), c.get(), nid, v); !st.ok()) return st;
  }
  if (X509_sign(c.get(), k->get(), EVP_sha256()) <= 0)
    return absl::InternalError(OpenSslError("signing CA"));
  auto pem = CertPem(c.get());
  if (!pem.ok()) return pem.status();
  out.cert_pem = *pem;
  return out;
}

absl::StatusOr<std::string> IssueCert(const KeyAndCert& ca, const IssueParams& p) {
  auto ca_key = LoadKey(ca.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  auto ca_cert = LoadCert(ca.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  auto pub = LoadPublicKey(p.public_key_pem);
  if (!pub.ok()) return pub.status();
  X509Ptr c(X509_new());
  if (auto st = SetRandomSerial(c.get()); !st.ok()) return st;
  if (auto st = SetNameAndValidity(c.get(), p.common_name, p.org_unit, p.days); !st.ok()) return st;
  X509_set_issuer_name(c.get(), X509_get_subject_name(ca_cert->get()));
  X509_set_pubkey(c.get(), pub->get());
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyAgreement"},
      {NID_ext_key_usage, p.server ? "serverAuth" : "clientAuth"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (p.server) {
    std::string san;
    for (const auto& d : p.dns_names) absl::StrAppend(&san, san.empty() ? "" : ",", "DNS:", d);
    for (const auto& ip : p.ip_addresses) absl::StrAppend(&san, san.empty() ? "" : ",", "IP:", ip);
    if (!san.empty()) exts.emplace_back(NID_subject_alt_name, san);
  }
  for (const auto& [nid, v] : exts) {
    if (auto st = AddExt(c.get(), ca_cert->get(), nid, v.c_str()); !st.ok()) return st;
  }
  if (X509_sign(c.get(), ca_key->get(), EVP_sha256()) <= 0)
    return absl::InternalError(OpenSslError("signing certificate"));
  return CertPem(c.get());
}

absl::StatusOr<CertInfo> ParseCert(const std::string& cert_pem) {
  auto c = LoadCert(cert_pem);
  if (!c.ok()) return c.status();
  CertInfo info;
  X509_NAME* subj = X509_get_subject_name(c->get());
  info.common_name = NameEntry(subj, NID_commonName);
  info.org_unit = NameEntry(subj, NID_organizationalUnitName);
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(c->get()), nullptr));
  if (bn) {
    char* hex = BN_bn2hex(bn.get());
    info.serial_hex = absl::AsciiStrToLower(hex);
    OPENSSL_free(hex);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(c->get(), EVP_sha256(), md, &n) != 1)
    return absl::InternalError(OpenSslError("certificate fingerprint"));
  info.fingerprint_hex = ToHex(ByteSpan(md, n));
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(c->get()), &tm) == 1) info.not_after_unix = timegm(&tm);
  return info;
}

absl::StatusOr<std::vector<std::string>> SplitPemBundle(const std::string& pem) {
  std::vector<std::string> out;
  BioPtr b = MemBio(pem);
  while (true) {
    X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    if (!c) break;
    auto s = CertPem(c.get());
    if (!s.ok()) return s.status();
    out.push_back(*s);
  }
  ERR_clear_error();
  if (out.empty()) return absl::InvalidArgumentError("no PEM certificate found");
  return out;
}

absl::StatusOr<std::vector<std::string>> FetchPeerChain(const std::string& host_port,
                                                        int timeout_ms) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("coordinator address '", host_port, "': use HOST:PORT"));
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve coordinator '", host_port, "': ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string last_err = "no address";
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_err = strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to coordinator ", host_port, ": ",
                                               last_err,
                                               "; is it running and is the address right?"));
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // pinned by fingerprint afterwards
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn);
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), kCoordinatorTlsName);
  int rc = SSL_connect(ssl.get());
  std::vector<std::string> out;
  if (rc == 1) {
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      auto pem = CertPem(sk_X509_value(chain, i));
      if (pem.ok()) out.push_back(*pem);
    }
    SSL_shutdown(ssl.get());
  }
  std::string err = rc == 1 ? "" : OpenSslError("TLS handshake");
  ssl.reset();
  close(fd);
  if (rc != 1) {
    return absl::UnavailableError(
        absl::StrCat("coordinator ", host_port, " did not complete a TLS handshake (", err,
                     "); is it a Shoebox coordinator with TLS (not --insecure-dev)?"));
  }
  if (out.empty())
    return absl::UnavailableError(absl::StrCat("coordinator ", host_port, " sent no certificate"));
  return out;
}

std::string FormatEnrollToken(const EnrollToken& t) {
  return absl::StrCat("sbx1-", t.secret, "-", t.ca_fingerprint);
}

absl::StatusOr<EnrollToken> ParseEnrollToken(std::string_view token_in) {
  std::string token(absl::StripAsciiWhitespace(AbslView(token_in)));
  std::vector<std::string> parts = absl::StrSplit(token, '-');
  auto hex64 = [](const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  if (parts.size() != 3 || parts[0] != "sbx1" || !hex64(parts[1]) || !hex64(parts[2])) {
    return absl::InvalidArgumentError(
        "enroll token is malformed (expected sbx1-<64 hex>-<64 hex>); copy the whole token printed "
        "by "
        "`shoebox enroll-token`");
  }
  return EnrollToken{absl::AsciiStrToLower(parts[1]), absl::AsciiStrToLower(parts[2])};
}

}  // namespace shoebox
