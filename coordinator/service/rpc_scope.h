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
    if (!st.ok() && (st.code() == absl::StatusCode::kInternal ||
                     st.code() == absl::StatusCode::kUnavailable ||
                     st.code() == absl::StatusCode::kDataLoss)) {
      SPDLOG_ERROR("event=rpc_failed method={} code={} error=\"{}\"", method_,
                   absl::StatusCodeToString(st.code()), std::string(st.message()));
    }
    return ToGrpc(st);
  }

  absl::StatusOr<Caller> Authorize(const grpc::ServerContext* ctx, Role role) {
    return c_->auth().Authorize(*ctx, method_, role);
  }

 private:
  Coordinator* const c_;
  const char* const method_;
  const std::chrono::steady_clock::time_point start_;
};

// Runs `body(caller)` for an authorised caller; body returns absl::Status.
template <typename F>
grpc::Status Serve(Coordinator* c, const char* method, const grpc::ServerContext* ctx, Role role,
                   F&& body) {
  RpcScope scope(c, method);
  absl::StatusOr<Caller> caller = scope.Authorize(ctx, role);
  if (!caller.ok()) return scope.Done(caller.status());
  return scope.Done(body(*caller));
}

// Copies a StatusOr<T> into *out.
template <typename T>
absl::Status Assign(absl::StatusOr<T> v, T* out) {
  if (!v.ok()) return v.status();
  *out = std::move(v).value();
  return absl::OkStatus();
}

}  // namespace shoebox::coordinator
