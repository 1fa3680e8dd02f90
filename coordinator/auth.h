// Who is calling, and may they. The one place where identity is decided:
// today from metadata in --insecure-dev mode; with issue 6 from the client
// certificate (mutual TLS). Services call Authorize() first and never read
// identity from request fields.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace grpc {
class ServerContext;
}

namespace shoebox::coordinator {

class Store;

enum class Role { kDevice, kWorker, kAdmin };

struct Caller {
  Role role = Role::kDevice;
  // Device or worker name; "admin" for admins.
  std::string name;
};

const char* RoleName(Role r);

class Authenticator {
 public:
  // `store` (not owned) receives an audit entry for every refusal.
  Authenticator(bool insecure_dev, Store* store) : insecure_dev_(insecure_dev), store_(store) {}

  // The caller of `method` when it holds `required`. Refusals are audited:
  // UNAUTHENTICATED when no identity is presented, PERMISSION_DENIED when
  // the identity has another role, both naming the method and what to do.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContext& ctx, std::string_view method,
                                   Role required) const;

  // Metadata keys of --insecure-dev mode.
  static constexpr char kDeviceKey[] = "x-shoebox-device";
  static constexpr char kWorkerKey[] = "x-shoebox-worker";
  static constexpr char kAdminKey[] = "x-shoebox-admin";

 private:
  const bool insecure_dev_;
  Store* const store_;
};

}  // namespace shoebox::coordinator
