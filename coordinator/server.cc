#include "coordinator/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/agent_service.h"
#include "coordinator/service/worker_service.h"

namespace shoebox::coordinator {

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const CoordinatorOptions& o) {
  if (!o.insecure_dev) {
    return absl::FailedPreconditionError(
        "TLS identities (enrollment) are not available in this build yet; run with "
        "--insecure-dev on a loopback address for development");
  }
  if (!IsLoopbackListen(o.listen)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "listen: --insecure-dev serves plain text and is only allowed on loopback; '", o.listen,
        "' is not a loopback address (use 127.0.0.1:PORT)"));
  }
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  ASSIGN_OR_RETURN(s->coordinator_, Coordinator::Open(o));
  s->agent_ = std::make_unique<AgentServiceImpl>(s->coordinator_.get());
  s->worker_ = std::make_unique<WorkerServiceImpl>(s->coordinator_.get());
  s->admin_ = std::make_unique<AdminServiceImpl>(s->coordinator_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder b;
  b.AddListeningPort(o.listen, grpc::InsecureServerCredentials(), &s->port_);
  b.RegisterService(s->agent_.get());
  b.RegisterService(s->worker_.get());
  b.RegisterService(s->admin_.get());
  b.SetMaxReceiveMessageSize(kMaxMessageBytes);
  b.SetMaxSendMessageSize(kMaxMessageBytes);
  b.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 4);
  grpc::ResourceQuota quota("shoebox-coordinator");
  quota.SetMaxThreads(static_cast<int>(std::max<uint32_t>(o.max_threads, 8)));
  b.SetResourceQuota(quota);
  s->server_ = b.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", o.listen, "; is the port in use?"));
  }
  const std::string host = o.listen.substr(0, o.listen.rfind(':'));
  s->address_ = absl::StrCat(host, ":", s->port_);
  grpc::HealthCheckServiceInterface* health = s->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    s->coordinator_->OnHealth([health](bool ok) { health->SetServingStatus(ok); });
  }
  SPDLOG_INFO("event=listening address={} metrics_port={}", s->address_,
              s->coordinator_->metrics().exposed_port());
  return s;
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

void CoordinatorServer::Wait() {
  if (server_) server_->Wait();
}

void CoordinatorServer::Shutdown() {
  if (shut_ || !server_) return;
  shut_ = true;
  coordinator_->OnHealth(nullptr);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace shoebox::coordinator
