#include "coordinator/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "coordinator/service/admin_service.h"
#include "coordinator/service/agent_service.h"
#include "coordinator/service/worker_service.h"
#include "coordinator/stream_guard.h"

namespace shoebox::coordinator {

namespace {

// Tells the StreamGuard when a streaming call starts, receives and ends
// (one interceptor per call).
class StreamInterceptor final : public grpc::experimental::Interceptor {
 public:
  StreamInterceptor(grpc::experimental::ServerRpcInfo* info, StreamGuard* guard)
      : ctx_(info->server_context()), guard_(guard) {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    stream_ = info->type() != Type::UNARY;
    client_streams_ =
        info->type() == Type::CLIENT_STREAMING || info->type() == Type::BIDI_STREAMING;
    if (stream_) guard_->Opened(ctx_, client_streams_);
  }
  ~StreamInterceptor() override {
    if (stream_) guard_->Closed(ctx_);
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (stream_) {
      if (client_streams_ && methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE))
        guard_->Received(ctx_);
      // The call's context is alive here; after the status is sent the
      // call's slot is free again.
      if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) guard_->Closed(ctx_);
    }
    methods->Proceed();
  }

 private:
  grpc::ServerContextBase* const ctx_;
  StreamGuard* const guard_;
  bool stream_ = false;
  bool client_streams_ = false;
};

// The authorisation gate (default deny): once a call's metadata arrived and
// before its handler runs, Authenticator::Decide looks the method up in the
// table of auth_rules.cc and authorises the caller; handlers get the
// decision through Serve(). A refusal that no handler used (a handler that
// never asked the gate) replaces the handler's reply at the end.
class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(grpc::experimental::ServerRpcInfo* info, const Authenticator* auth)
      : ctx_(info->server_context()), method_(info->method()), auth_(auth) {}
  ~AuthInterceptor() override { (void)auth_->Forget(ctx_); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      auth_->Decide(*ctx_, method_);
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      if (std::optional<absl::Status> refused = auth_->Forget(ctx_)) {
        methods->ModifySendStatus(ToGrpc(*refused));
        if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) {
          if (grpc::ByteBuffer* reply = methods->GetSerializedSendMessage()) reply->Clear();
        }
      }
    }
    methods->Proceed();
  }

 private:
  grpc::ServerContextBase* const ctx_;
  const std::string method_;
  const Authenticator* const auth_;
};

class AuthInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(const Authenticator* auth) : auth_(auth) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuthInterceptor(info, auth_);
  }

 private:
  const Authenticator* const auth_;
};

class StreamInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit StreamInterceptorFactory(StreamGuard* guard) : guard_(guard) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new StreamInterceptor(info, guard_);
  }

 private:
  StreamGuard* const guard_;
};

}  // namespace

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

  // One caller's streams are bounded and idle ones ended, so they cannot
  // take every server thread (docs/security.md, "Resource limits").
  s->streams_ = std::make_unique<StreamGuard>(o.limits.max_streams_per_caller,
                                              absl::Seconds(o.limits.stream_idle_timeout_s));
  s->coordinator_->auth().set_stream_guard(s->streams_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder b;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<StreamInterceptorFactory>(s->streams_.get()));
  // After the stream interceptor: Authorize admits a stream it has seen open.
  interceptors.push_back(std::make_unique<AuthInterceptorFactory>(&s->coordinator_->auth()));
  b.experimental().SetInterceptorCreators(std::move(interceptors));
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
