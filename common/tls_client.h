// The client side of Shoebox's mutual TLS, shared by the agent, the worker
// and the CLI: channel credentials from an identity directory, and the
// enrollment exchange (pin the CA by the token's fingerprint, make a key and
// a CSR, store what the coordinator signs).
//
// An identity directory holds ca.crt, client.crt and client.key (0600; the
// directory 0700). Clients verify the coordinator's certificate against
// ca.crt under the fixed name "shoebox-coordinator" whatever address they
// dial (see docs/security.md).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace shoebox {

struct TlsIdentityFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // The files of identity directory `dir`.
  static TlsIdentityFiles InDir(const std::string& dir);
};

// Sets the arguments every Shoebox channel uses with TLS (target name).
void SetTlsChannelArgs(grpc::ChannelArguments* args);

// Credentials from the files; FAILED_PRECONDITION naming the missing file and
// saying to enroll, PERMISSION_DENIED for a key readable by others.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(
    const TlsIdentityFiles& files, const std::string& enroll_hint);

// A channel to `address` with TLS from `files`, or plain text when
// `insecure_dev` (FAILED_PRECONDITION unless every address `address`
// resolves to is loopback, common/loopback.h).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeShoeboxChannel(const std::string& address,
                                                                  bool insecure_dev,
                                                                  const TlsIdentityFiles& files,
                                                                  const std::string& enroll_hint,
                                                                  grpc::ChannelArguments args);

struct EnrollPrep {
  std::string ca_pem;   // the coordinator's CA, matched to the token
  std::string key_pem;  // our new private key
  std::string csr_pem;
  std::string token;  // normalised
  // A TLS channel (no client certificate) for the Enroll call.
  std::shared_ptr<grpc::Channel> channel;
};

// Fetches the coordinator's chain, checks the CA against the token's
// fingerprint (refusing a mismatch: wrong address or someone in between),
// makes a key pair and a CSR.
absl::StatusOr<EnrollPrep> PrepareEnroll(const std::string& address, const std::string& token);

// Writes ca.crt, client.crt and client.key (0600) into `dir` (created 0700).
absl::Status SaveIdentity(const std::string& dir, const EnrollPrep& prep,
                          const std::string& cert_pem);

// The --token argument: the token itself, or "-" to read it from standard
// input (so it does not show in `ps`), e.g.
//   shoebox enroll-token --device laptop | shoebox-agent enroll --token -
absl::StatusOr<std::string> ReadTokenArgument(const std::string& arg);

// The role's Enroll RPC on `channel`: fills the certificate and the name the
// coordinator gave.
using EnrollCall = std::function<grpc::Status(const std::shared_ptr<grpc::Channel>& channel,
                                              const std::string& token, const std::string& csr_pem,
                                              std::string* cert_pem, std::string* name)>;
// An EnrollCall for a service whose Enroll takes Req (token, csr_pem) and
// returns Resp (certificate_pem, name); `rpc(channel, ctx, req, resp)` makes
// the call on that service's stub.
template <typename Req, typename Resp, typename Rpc>
EnrollCall MakeEnrollCall(Rpc rpc) {
  return [rpc](const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
               const std::string& csr_pem, std::string* cert_pem, std::string* name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    Req req;
    req.set_token(token);
    req.set_csr_pem(csr_pem);
    Resp resp;
    grpc::Status s = rpc(channel, &ctx, req, &resp);
    *cert_pem = resp.certificate_pem();
    *name = resp.name();
    return s;
  };
}

// The whole exchange (`shoebox-agent enroll`, `shoebox-worker enroll`):
// PrepareEnroll, the call, SaveIdentity into `tls_dir`. Returns the enrolled
// name; a refusal names the coordinator and its reason. The token is never
// put in a message.
absl::StatusOr<std::string> EnrollIdentity(const std::string& address, const std::string& token,
                                           const std::string& tls_dir, const EnrollCall& call);

}  // namespace shoebox
