// The coordinator on the network: a Coordinator plus the gRPC server
// (AgentService, WorkerService, AdminService, health) and the metrics
// exposer. main.cc and tests/support/coordinator_harness use it.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/coordinator.h"
#include "coordinator/options.h"

namespace grpc {
class Server;
}

namespace shoebox::coordinator {

class AgentServiceImpl;
class WorkerServiceImpl;
class AdminServiceImpl;
class StreamGuard;

// Largest gRPC message accepted or sent.
inline constexpr int kMaxMessageBytes = 32 * 1024 * 1024;

class CoordinatorServer {
 public:
  // Opens the coordinator and starts serving. Plain-text gRPC only with
  // insecure_dev on a loopback address (FAILED_PRECONDITION otherwise: TLS
  // arrives with enrollment). listen "127.0.0.1:0" picks a free port.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(const CoordinatorOptions& o);
  ~CoordinatorServer();

  // "127.0.0.1:<port>" as bound.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  Coordinator& coordinator() { return *coordinator_; }

  // Blocks until Shutdown() is called from another thread.
  void Wait();
  // Stops accepting calls, lets running ones finish (up to 5 s). Idempotent.
  void Shutdown();

 private:
  CoordinatorServer() = default;
  std::unique_ptr<Coordinator> coordinator_;
  // Outlives the gRPC server (declared before server_, destroyed after).
  std::unique_ptr<StreamGuard> streams_;
  std::unique_ptr<AgentServiceImpl> agent_;
  std::unique_ptr<WorkerServiceImpl> worker_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int port_ = 0;
  bool shut_ = false;
};

}  // namespace shoebox::coordinator
