// Per-RPC bookkeeping shared by the services: authorisation, the status
// conversion, request metrics and a log line for failures.
#pragma once

#include <chrono>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "common/log.h"
#include "common/status.h"
#include "coordinator/coordinator.h"

namespace shoebox::coordinator {

class RpcScope {
 public:
  RpcScope(Coordinator* c, const char* method)
      : c_(c), method_(method), start_(std::chrono::steady_clock::now()) {}

  // Finishes the call: records metrics, logs server-side failures, converts.
  grpc::Status Done(const absl::Status& st) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    c_->metrics().Request(method_, std::string(absl::StatusCodeToString(st.code())), secs);
    if (!st.ok() &&
        (st.code() == absl::StatusCode::kInternal || st.code() == absl::StatusCode::kUnavailable ||
         st.code() == absl::StatusCode::kDataLoss)) {
      SPDLOG_ERROR("event=rpc_failed method={} code={} error=\"{}\"", method_,
                   absl::StatusCodeToString(st.code()), std::string(st.message()));
    }
    return ToGrpc(st);
  }

  // The gate's decision for this call (Authenticator::Decide, made by the
  // server's interceptor from the table in auth_rules.cc before the handler
  // ran).
  absl::StatusOr<Caller> Decided(const grpc::ServerContext* ctx) {
    return c_->auth().Decision(ctx);
  }

 private:
  Coordinator* const c_;
  const char* const method_;
  const std::chrono::steady_clock::time_point start_;
};

// Runs `body(caller)` for the caller the gate admitted (the role check is
// central: auth_rules.cc); body returns absl::Status and checks the object
// (which device, which lease) itself.
template <typename F>
grpc::Status Serve(Coordinator* c, const char* method, const grpc::ServerContext* ctx, F&& body) {
  RpcScope scope(c, method);
  absl::StatusOr<Caller> caller = scope.Decided(ctx);
  if (!caller.ok()) return scope.Done(caller.status());
  return scope.Done(body(*caller));
}

// Enroll (AgentService / WorkerService): no identity yet, so admission is
// rate limited per peer; every refusal is audited with the peer address.
template <typename Resp>
grpc::Status ServeEnroll(Coordinator* c, const char* method, const grpc::ServerContext* ctx,
                         const std::string& role, const std::string& token,
                         const std::string& csr_pem, Resp* resp) {
  RpcScope scope(c, method);
  if (absl::Status st = c->auth().AdmitAnonymous(*ctx, method); !st.ok()) return scope.Done(st);
  if (c->enrollment() == nullptr) {
    return scope.Done(absl::FailedPreconditionError(
        "this coordinator runs --insecure-dev: there is nothing to enroll; identities come from "
        "metadata"));
  }
  absl::StatusOr<EnrollResult> r = c->enrollment()->Enroll(role, token, csr_pem, ctx->peer());
  if (!r.ok()) {
    // Logged and audited once per peer address and reason a minute (counted).
    c->auth().AuditRefusal(AuditEntry{"anonymous", ctx->peer(), method, role, false,
                                      std::string(r.status().message())});
    absl::Status st = r.status();
    // Token problems are the caller's: say so with the right code.
    if (absl::IsNotFound(st) || absl::IsFailedPrecondition(st))
      st = absl::PermissionDeniedError(st.message());
    return scope.Done(st);
  }
  AuditEntry e{role, r->name, method, ctx->peer(), true, "enrolled"};
  (void)c->store().Audit(e);
  resp->set_certificate_pem(r->certificate_pem);
  resp->set_ca_certificate_pem(r->ca_certificate_pem);
  resp->set_name(r->name);
  return scope.Done(absl::OkStatus());
}

// Copies a StatusOr<T> into *out.
template <typename T>
absl::Status Assign(absl::StatusOr<T> v, T* out) {
  if (!v.ok()) return v.status();
  *out = std::move(v).value();
  return absl::OkStatus();
}

}  // namespace shoebox::coordinator
