#include "common/tls_client.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/crypto/keys.h"
#include "common/crypto/pki.h"
#include "common/loopback.h"
#include "common/status.h"

namespace shoebox {

TlsIdentityFiles TlsIdentityFiles::InDir(const std::string& dir) {
  return {dir + "/ca.crt", dir + "/client.crt", dir + "/client.key"};
}

void SetTlsChannelArgs(grpc::ChannelArguments* args) {
  args->SetSslTargetNameOverride(kCoordinatorTlsName);
}

namespace {
absl::StatusOr<std::string> ReadPlain(const std::string& path, const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, " (", strerror(errno), "); ", hint));
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(
    const TlsIdentityFiles& f, const std::string& hint) {
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPlain(f.ca_file, hint));
  ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPlain(f.cert_file, hint));
  absl::StatusOr<std::string> key = ReadSecretFile(f.key_file);
  if (!key.ok()) {
    if (absl::IsNotFound(key.status()) || absl::IsFailedPrecondition(key.status()))
      return absl::FailedPreconditionError(absl::StrCat(key.status().message(), "; ", hint));
    return key.status();
  }
  ssl.pem_private_key = *key;
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeShoeboxChannel(const std::string& address,
                                                                  bool insecure_dev,
                                                                  const TlsIdentityFiles& files,
                                                                  const std::string& hint,
                                                                  grpc::ChannelArguments args) {
  if (insecure_dev) {
    // Plain text carries identities as metadata: only to this host.
    if (!IsLoopbackTarget(address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "insecure_dev: plain text is only allowed to a loopback address; '", address,
          "' does not resolve to loopback only (use 127.0.0.1:PORT, or enroll and use TLS)"));
    }
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                   ClientTlsCredentials(files, hint));
  SetTlsChannelArgs(&args);
  return grpc::CreateCustomChannel(address, creds, args);
}

absl::StatusOr<EnrollPrep> PrepareEnroll(const std::string& address, const std::string& token) {
  EnrollPrep p;
  ASSIGN_OR_RETURN(EnrollToken t, ParseEnrollToken(token));
  p.token = FormatEnrollToken(t);
  ASSIGN_OR_RETURN(std::vector<std::string> chain, FetchPeerChain(address));
  for (const std::string& pem : chain) {
    absl::StatusOr<CertInfo> info = ParseCert(pem);
    if (info.ok() && info->fingerprint_hex == t.ca_fingerprint) p.ca_pem = pem;
  }
  if (p.ca_pem.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the coordinator at ", address, " does not present the CA this token pins (fingerprint ",
        t.ca_fingerprint.substr(0, 16),
        "...): wrong address, a different coordinator, or someone in between. Nothing was sent; "
        "check the address and the token"));
  }
  ASSIGN_OR_RETURN(p.key_pem, GenerateKeyPem());
  ASSIGN_OR_RETURN(p.csr_pem, MakeCsrPem(p.key_pem, "shoebox-enroll"));
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = p.ca_pem;
  grpc::ChannelArguments args;
  SetTlsChannelArgs(&args);
  p.channel = grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
  return p;
}

absl::Status SaveIdentity(const std::string& dir, const EnrollPrep& prep,
                          const std::string& cert_pem) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  chmod(dir.c_str(), 0700);
  const TlsIdentityFiles f = TlsIdentityFiles::InDir(dir);
  RETURN_IF_ERROR(WriteSecretFile(f.key_file, prep.key_pem));
  RETURN_IF_ERROR(WriteSecretFile(f.cert_file, cert_pem));
  RETURN_IF_ERROR(WriteSecretFile(f.ca_file, prep.ca_pem));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenArgument(const std::string& arg) {
  if (arg != "-") return arg;
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) {
    return absl::InvalidArgumentError("--token -: no token on standard input");
  }
  return line;
}

absl::StatusOr<std::string> EnrollIdentity(const std::string& address, const std::string& token,
                                           const std::string& tls_dir, const EnrollCall& call) {
  ASSIGN_OR_RETURN(std::string token_text, ReadTokenArgument(token));
  ASSIGN_OR_RETURN(EnrollPrep prep, PrepareEnroll(address, token_text));
  std::string cert, name;
  grpc::Status s = call(prep.channel, prep.token, prep.csr_pem, &cert, &name);
  if (!s.ok()) {
    return absl::Status(
        static_cast<absl::StatusCode>(s.error_code()),
        absl::StrCat("the coordinator at ", address, " refused: ", s.error_message()));
  }
  RETURN_IF_ERROR(SaveIdentity(tls_dir, prep, cert));
  return name;
}

}  // namespace shoebox
