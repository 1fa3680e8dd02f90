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
  if (o.insecure_dev && !IsLoopbackListen(o.listen)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "listen: --insecure-dev serves plain text and is only allowed on loopback; '", o.listen,
        "' is not a loopback address (use 127.0.0.1:PORT, or drop insecure_dev for TLS)"));
  }
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  ASSIGN_OR_RETURN(s->coordinator_, Coordinator::Open(o));
  s->agent_ = std::make_unique<AgentServiceImpl>(s->coordinator_.get());
  s->worker_ = std::make_unique<WorkerServiceImpl>(s->coordinator_.get());
  s->admin_ = std::make_unique<AdminServiceImpl>(s->coordinator_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder b;
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (o.insecure_dev) {
    SPDLOG_WARN(
        "event=insecure_dev listen={} note=\"plain text, identities from metadata; for "
        "development on loopback only\"",
        o.listen);
    creds = grpc::InsecureServerCredentials();
  } else {
    // Mutual TLS: a client certificate is requested and, when presented,
    // verified against our CA. Enroll is the one call made without one;
    // Authenticator refuses every other call that lacks it.
    const CoordinatorPki& pki = s->coordinator_->enrollment()->pki();
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = pki.ca.cert_pem;
    ssl.pem_key_cert_pairs.push_back({pki.server_key_pem, pki.server_chain_pem});
    creds = grpc::SslServerCredentials(ssl);
  }
  b.AddListeningPort(o.listen, creds, &s->port_);
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
  SPDLOG_INFO("event=listening address={} tls={} metrics_port={}", s->address_, !o.insecure_dev,
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
