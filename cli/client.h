// Connection to the coordinator for the CLI.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "shoebox/v1/admin.grpc.pb.h"

namespace shoebox::cli {

struct ClientOptions {
  // host:port of a coordinator.
  std::string coordinator = "127.0.0.1:7443";
  // Plain-text gRPC on loopback with the x-shoebox-admin identity.
  bool insecure_dev = false;
  // Admin identity for mutual TLS (PEM files). cli.toml: tls_dir = the
  // coordinator's TLS directory (ca.crt, admin.crt, admin.key), or each of
  // ca_file / cert_file / key_file.
  std::string ca_file, cert_file, key_file;
  // Per-call deadline.
  std::chrono::milliseconds deadline{30000};
};

// Loads defaults from, in order: $SHOEBOX_CLI_CONFIG, $SHOEBOX_STATE/cli.toml,
// ~/.local/state/shoebox/cli.toml (written by deploy/quickstart.sh); when that
// does not exist: for root /var/lib/shoebox-quickstart/cli.toml (the
// quickstart's state as root) if it exists, then /etc/shoebox/cli.toml
// (written by `shoebox setup`). Keys:
// coordinator = "HOST:PORT", insecure_dev = true/false, tls_dir, ca_file,
// cert_file, key_file. Missing file: defaults.
absl::StatusOr<ClientOptions> LoadClientOptions();
// The directory holding cli.toml that LoadClientOptions used ("" if none).
std::string ClientStateDir();

// Prints "shoebox: WHAT failed: MESSAGE" (with a hint when the coordinator
// cannot be reached) and returns exit code 1.
int FailRpc(const grpc::Status& s, const std::string& what);
// "1.5 GB" (decimal units, as the CLI prints sizes).
std::string HumanBytes(uint64_t b);

// Prints "shoebox: STATUS" and returns exit code 1.
int FailStatus(const absl::Status& s);

class AdminClient {
 public:
  explicit AdminClient(const ClientOptions& o);
  // Not OK when the TLS identity cannot be loaded (names the file and what to do).
  const absl::Status& status() const { return status_; }
  // A context with the deadline and identity metadata set.
  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds deadline = std::chrono::milliseconds(0)) const;
  v1::AdminService::Stub* stub() { return stub_.get(); }
  const ClientOptions& options() const { return opts_; }

 private:
  ClientOptions opts_;
  absl::Status status_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace shoebox::cli
