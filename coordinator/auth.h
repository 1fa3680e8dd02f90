// Who is calling, and may they. The one place where identity is decided:
// from the client certificate (mutual TLS; CN = name, OU = role, serial
// checked against the catalog so revocation takes effect on the next call),
// or, only in --insecure-dev mode on loopback, from metadata. Services call
// Authorize() first and never read identity from request fields. Every
// caller is also rate limited here (token bucket per caller).
#pragma once

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/options.h"

namespace grpc {
class ServerContext;
}

namespace shoebox::coordinator {

class IdentityStore;

enum class Role { kDevice, kWorker, kAdmin };

struct Caller {
  Role role = Role::kDevice;
  // Device or worker name; "admin" (or the admin certificate's CN) for admins.
  std::string name;
};

const char* RoleName(Role r);

class Authenticator {
 public:
  // `store` (not owned) receives an audit entry for every refusal and holds
  // the issued certificates.
  Authenticator(bool insecure_dev, IdentityStore* store, const Limits& limits = Limits())
      : insecure_dev_(insecure_dev), store_(store), limits_(limits) {}

  // The caller of `method` when it holds `required`. Refusals are audited:
  // UNAUTHENTICATED when no (valid, unrevoked) identity is presented,
  // PERMISSION_DENIED when the identity has another role, both naming the
  // method and what to do; RESOURCE_EXHAUSTED over the caller's rate.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContext& ctx, std::string_view method,
                                   Role required) const;

  // For calls made before a caller has an identity (Enroll): limits attempts
  // per peer address (limits.enroll_per_second).
  absl::Status AdmitAnonymous(const grpc::ServerContext& ctx, std::string_view method) const;

  // Drops cached certificate checks so a revocation applies at once.
  void ForgetCertificates() const;

  // Metadata keys of --insecure-dev mode.
  static constexpr char kDeviceKey[] = "x-shoebox-device";
  static constexpr char kWorkerKey[] = "x-shoebox-worker";
  static constexpr char kAdminKey[] = "x-shoebox-admin";

 private:
  struct CertCheck {
    Caller caller;
    std::string serial;
    absl::Status refusal;  // non-OK: refuse with this
    absl::Time checked;
  };
  struct Bucket {
    double tokens = 0;
    absl::Time last;
    bool limited = false;
  };
  // Identity from the TLS client certificate; refusal status otherwise.
  // *claimed: who the certificate names, even when refused ("" if none).
  absl::StatusOr<Caller> FromCertificate(const grpc::ServerContext& ctx, const std::string& method,
                                         bool* audit_refusal, Caller* claimed) const;
  // false when `key` is over `per_second` (bursts of `burst`); *first is set
  // on the first refusal after a period of admitted calls.
  bool Admit(const std::string& key, double per_second, double burst, bool* first) const;

  const bool insecure_dev_;
  IdentityStore* const store_;
  const Limits limits_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, CertCheck> certs_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::coordinator
