// A coordinator for tests: in-process (CoordinatorHarness) or the real
// `shoebox-coordinator` binary as a subprocess (CoordinatorProcess). Both
// listen on a free 127.0.0.1 port with --insecure-dev identities, so clients
// name themselves with metadata (AsDevice / AsWorker / AsAdmin).
//
//   auto pg = PgCluster::Start();
//   auto c = CoordinatorHarness::Start((*pg)->url());
//   auto agent = shoebox::v1::AgentService::NewStub(Channel((*c)->address()));
//   grpc::ClientContext ctx; AsDevice(&ctx, "laptop");
//
// The harness owns a temp dir with the chunk store ("<dir>/chunks") and the
// master key ("<dir>/master.key"); both are removed at the end.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "coordinator/options.h"
#include "coordinator/server.h"
#include "tests/support/temp_dir.h"

namespace shoebox::testsupport {

// Test-friendly defaults: short leases and backoff, housekeeping every
// 100 ms, give up after 10 s when the database is down at start.
shoebox::coordinator::CoordinatorOptions TestCoordinatorOptions(const std::string& database_url);

class CoordinatorHarness {
 public:
  // Starts in-process. Empty `listen`, `chunk_store` and `key_file` in
  // `options` are filled with 127.0.0.1:0 and paths in the harness temp dir;
  // insecure_dev is forced on.
  static absl::StatusOr<std::unique_ptr<CoordinatorHarness>> Start(
      shoebox::coordinator::CoordinatorOptions options);
  // Like Start, but with mutual TLS (options.insecure_dev is left as given,
  // normally false): the CA, server and admin certificates are created in
  // "<dir>/tls".
  static absl::StatusOr<std::unique_ptr<CoordinatorHarness>> StartTls(
      shoebox::coordinator::CoordinatorOptions options);
  static absl::StatusOr<std::unique_ptr<CoordinatorHarness>> Start(
      const std::string& database_url) {
    return Start(TestCoordinatorOptions(database_url));
  }
  // A fresh database on the shared test cluster (FreshDatabase(prefix)),
  // test options, a directory chunk store in the harness dir:
  // options().chunk_store.
  static absl::StatusOr<std::unique_ptr<CoordinatorHarness>> StartOnFreshDatabase(
      const std::string& prefix);
  ~CoordinatorHarness();

  const std::string& address() const { return server_->address(); }
  shoebox::coordinator::Coordinator& coordinator() { return server_->coordinator(); }
  const shoebox::coordinator::CoordinatorOptions& options() const { return options_; }
  const std::string& dir() const { return dir_; }
  // Stops serving (idempotent); the destructor also does it.
  void Stop();

 private:
  CoordinatorHarness() = default;
  shoebox::coordinator::CoordinatorOptions options_;
  std::unique_ptr<TempDir> tmp_;
  std::string dir_;
  std::unique_ptr<shoebox::coordinator::CoordinatorServer> server_;
};

// The real binary (path compiled in as SHOEBOX_COORDINATOR_BINARY).
class CoordinatorProcess {
 public:
  // Writes a config into a temp dir and starts the binary; returns once it
  // printed its address. Uses options.database_url, chunk_store, key_file
  // (share them with an in-process harness to serve one system) and limits.
  static absl::StatusOr<std::unique_ptr<CoordinatorProcess>> Start(
      const shoebox::coordinator::CoordinatorOptions& options);
  ~CoordinatorProcess();

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // SIGTERM and wait (SIGKILL after 10 s). Idempotent.
  void Stop();
  // SIGKILL and wait: a crash.
  void Kill();
  // The process output so far.
  std::string Log() const;

 private:
  CoordinatorProcess() = default;
  void Reap(int sig);
  pid_t pid_ = -1;
  std::unique_ptr<TempDir> tmp_;
  std::string dir_, address_, log_;
};

// A channel with the coordinator's 32 MiB message limits.
std::shared_ptr<grpc::Channel> Channel(const std::string& address);
// Identity metadata of --insecure-dev mode; also sets a 30 s deadline.
void AsDevice(grpc::ClientContext* ctx, const std::string& device);
void AsWorker(grpc::ClientContext* ctx, const std::string& worker);
void AsAdmin(grpc::ClientContext* ctx);

}  // namespace shoebox::testsupport
