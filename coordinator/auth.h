// Who is calling, and may they. The one place where identity and role are
// decided (default deny): MethodRules() names every RPC the coordinator
// serves and the one role that may call it; the server's interceptor calls
// Authenticator::Decide for every call before its handler runs, and a
// method without a rule is refused whatever the caller. Identity comes
// from the client certificate (mutual TLS; CN = name, OU = role, serial
// checked against the catalog so revocation takes effect on the next call),
// or, only in --insecure-dev mode on loopback, from metadata. Services call
// Authorize() first and never read identity from request fields. Every
// caller is also rate limited here (token bucket per caller).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/steady_wait.h"
#include "coordinator/options.h"

namespace grpc {
class ServerContextBase;
}

namespace shoebox::coordinator {

class IdentityStore;
struct AuditEntry;
class StreamGuard;

// Token buckets by key (a caller, a peer address), bounded in memory. Past
// `max_keys`, buckets that have refilled completely go first (forgetting
// them changes nothing), then the least recently used; every other bucket
// keeps its state, so a flood of new keys never resets anyone's limit.
// Thread-safe.
class RateLimiter {
 public:
  // `now` is the clock (tests freeze it so that refills do not depend on how
  // fast the machine runs them).
  explicit RateLimiter(size_t max_keys = 100000, absl::Time (*now)() = absl::Now)
      : max_keys_(max_keys), now_(now) {}
  // false when `key` is over `per_second` (bursts of `burst`); *first is set
  // on the first refusal after a period of admitted calls.
  bool Admit(const std::string& key, double per_second, double burst, bool* first);
  size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    double per_second = 0;
    double burst = 0;
    absl::Time last;
    bool limited = false;
  };
  void EvictLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const size_t max_keys_;
  absl::Time (*const now_)();
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

enum class Role { kDevice, kWorker, kAdmin };

struct Caller {
  Role role = Role::kDevice;
  // Device or worker name; "admin" (or the admin certificate's CN) for admins.
  std::string name;
};

const char* RoleName(Role r);

// Who may call a method: nobody needs a certificate (Enroll, health), or
// exactly one role.
enum class Access { kAnonymous, kDevice, kWorker, kAdmin };

struct MethodRule {
  const char* method;  // full gRPC name, "/shoebox.v1.WorkerService/LeaseJobs"
  const char* name;    // in refusals, audit rows and metrics ("LeaseJobs")
  Access access;
};

// The authorisation table (auth_rules.cc): every RPC the coordinator
// serves. A method not in it is refused (PERMISSION_DENIED) for everyone.
const std::vector<MethodRule>& MethodRules();
// The rule of `full_method`, or nullptr.
const MethodRule* FindMethodRule(std::string_view full_method);

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
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& ctx, std::string_view method,
                                   Role required) const;

  // The gate, run by the server's interceptor once a call's metadata has
  // arrived and before its handler runs: looks up `full_method` in
  // MethodRules() and authorises the caller for that rule (no rule:
  // PERMISSION_DENIED, audited). The decision is kept for the call until
  // Forget.
  void Decide(const grpc::ServerContextBase& ctx, std::string_view full_method) const;
  // The caller the gate admitted for this call (handlers, through Serve);
  // the gate's refusal, or PERMISSION_DENIED when no decision was made or
  // the method needs no identity. Marks the decision as used.
  absl::StatusOr<Caller> Decision(const grpc::ServerContextBase* ctx) const;
  // At the end of the call: a refusal no handler used (a handler that did
  // not ask the gate), so the interceptor sends it instead of the handler's
  // reply; forgets the call.
  std::optional<absl::Status> Forget(const grpc::ServerContextBase* ctx) const;

  // For calls made before a caller has an identity (Enroll): limits attempts
  // per peer address (limits.enroll_per_second).
  absl::Status AdmitAnonymous(const grpc::ServerContextBase& ctx, std::string_view method) const;

  // Drops cached certificate checks so a revocation applies at once.
  void ForgetCertificates() const;

  // Records a refusal in the audit log, aggregated: the first refusal of a
  // caller (kind and actor; an anonymous caller by its address without the
  // port), action and reason in a kAuditWindow writes one row and one WARN
  // line; the ones after it within the window only add to that row's count
  // (written at most every few seconds and by FlushAudit).
  void AuditRefusal(const AuditEntry& e) const;
  // Writes the counts of refusals not yet in their rows (housekeeping).
  void FlushAudit() const;
  static constexpr absl::Duration kAuditWindow = absl::Seconds(60);

  // Streams (PutChunks, ReadChunks) are counted per caller by `guard`
  // (not owned; set by the server before it serves).
  void set_stream_guard(StreamGuard* guard) const { streams_ = guard; }

  // Metadata keys of --insecure-dev mode.
  static constexpr char kDeviceKey[] = "x-shoebox-device";
  static constexpr char kWorkerKey[] = "x-shoebox-worker";
  static constexpr char kAdminKey[] = "x-shoebox-admin";

 private:
  struct CertCheck {
    Caller caller;
    std::string serial;
    absl::Status refusal;  // non-OK: refuse with this
    SteadyTime checked;    // the recheck interval is measured from it: monotonic
  };
  struct RefusalWindow {
    absl::Time start;
    absl::Time flushed;
    int64_t row_id = 0;  // 0: the row is being written
    uint64_t pending = 0;
  };
  // Identity from the TLS client certificate; refusal status otherwise.
  // *claimed: who the certificate names, even when refused ("" if none).
  absl::StatusOr<Caller> FromCertificate(const grpc::ServerContextBase& ctx,
                                         const std::string& method, bool* audit_refusal,
                                         Caller* claimed) const;
  bool Admit(const std::string& key, double per_second, double burst, bool* first) const {
    return limiter_.Admit(key, per_second, burst, first);
  }
  // Writes pending counts of `flush` (row id, count) to the store.
  void WriteCounts(const std::vector<std::pair<int64_t, uint64_t>>& flush) const;

  const bool insecure_dev_;
  IdentityStore* const store_;
  const Limits limits_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, CertCheck> certs_ ABSL_GUARDED_BY(mu_);
  mutable RateLimiter limiter_;
  mutable absl::flat_hash_map<std::string, RefusalWindow> refusals_ ABSL_GUARDED_BY(mu_);
  mutable StreamGuard* streams_ = nullptr;  // set once, before serving
  struct Decided {
    absl::StatusOr<std::optional<Caller>> caller;
    bool used = false;
  };
  mutable absl::Mutex calls_mu_;
  mutable absl::flat_hash_map<const grpc::ServerContextBase*, Decided> calls_
      ABSL_GUARDED_BY(calls_mu_);
};

}  // namespace shoebox::coordinator
