#include "coordinator/auth.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/server_context.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/pki.h"
#include "common/log.h"
#include "coordinator/store/identity_store.h"
#include "coordinator/stream_guard.h"

namespace shoebox::coordinator {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kDevice:
      return "device";
    case Role::kWorker:
      return "worker";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

namespace {

// How long a certificate check is trusted before the catalog is asked again
// (revocation by another coordinator replica takes effect within this).
constexpr absl::Duration kCertRecheck = absl::Seconds(2);

std::string Meta(const grpc::ServerContextBase& ctx, std::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '@'))
      return false;
  }
  return true;
}

// "ipv4:1.2.3.4:5678" → "ipv4:1.2.3.4" (the rate-limit key of a peer).
std::string PeerHost(const std::string& peer) {
  if (!peer.empty() && peer.back() == ']') return peer;  // "ipv6:[::1]": already a host
  size_t colon = peer.rfind(':');
  size_t first = peer.find(':');
  if (colon == std::string::npos || colon == first) return peer;
  return peer.substr(0, colon);
}

std::string FormatMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

}  // namespace

bool RateLimiter::Admit(const std::string& key, double per_second, double burst, bool* first) {
  absl::MutexLock l(&mu_);
  const absl::Time now = now_();
  if (buckets_.size() >= max_keys_ && !buckets_.contains(key)) EvictLocked(now);
  auto [it, inserted] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst;
    b.last = now;
  }
  b.per_second = per_second;
  b.burst = burst;
  // A wall clock stepped back (NTP, a fixed RTC) must not take tokens away:
  // a caller's bucket would stay empty until the clock made up the step
  // (an hour for -1 h). Time that ran backwards refills nothing.
  const absl::Duration elapsed = std::max(now - b.last, absl::ZeroDuration());
  b.tokens = std::min(burst, b.tokens + absl::ToDoubleSeconds(elapsed) * per_second);
  b.last = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    b.limited = false;
    return true;
  }
  *first = !b.limited;
  b.limited = true;
  return false;
}

size_t RateLimiter::size() const {
  absl::MutexLock l(&mu_);
  return buckets_.size();
}

void RateLimiter::EvictLocked(absl::Time now) {
  // Full buckets are as good as new ones: forget them first.
  absl::erase_if(buckets_, [&](const auto& kv) {
    const Bucket& b = kv.second;
    return b.tokens + absl::ToDoubleSeconds(now - b.last) * b.per_second >= b.burst;
  });
  const size_t keep = max_keys_ - max_keys_ / 10;
  if (buckets_.size() <= keep) return;
  // Then the least recently used, down to 90% of the bound.
  std::vector<std::pair<absl::Time, std::string>> by_age;
  by_age.reserve(buckets_.size());
  for (const auto& [k, b] : buckets_) by_age.emplace_back(b.last, k);
  const size_t drop = buckets_.size() - keep;
  std::nth_element(by_age.begin(), by_age.begin() + drop, by_age.end());
  for (size_t i = 0; i < drop; ++i) buckets_.erase(by_age[i].second);
}

void Authenticator::AuditRefusal(const AuditEntry& entry) const {
  AuditEntry e = entry;
  // Each connection of an anonymous caller has its own port: aggregate by
  // address.
  if (e.actor_kind == "anonymous") e.actor = PeerHost(e.actor);
  const std::string key = absl::StrCat(e.actor_kind, "|", e.actor, "|", e.action, "|", e.detail);
  const absl::Time now = absl::Now();
  std::vector<std::pair<int64_t, uint64_t>> flush;
  bool in_window = false;
  {
    absl::MutexLock l(&mu_);
    auto it = refusals_.find(key);
    in_window = it != refusals_.end() && now - it->second.start < kAuditWindow;
    if (in_window) {
      RefusalWindow& w = it->second;
      ++w.pending;
      if (w.row_id != 0 && now - w.flushed >= absl::Seconds(5)) {
        flush.emplace_back(w.row_id, w.pending);
        w.pending = 0;
        w.flushed = now;
      }
    } else {
      if (it != refusals_.end() && it->second.row_id != 0 && it->second.pending != 0)
        flush.emplace_back(it->second.row_id, it->second.pending);
      if (refusals_.size() >= 10000) {
        // Bounded memory: windows that ended go (their counts written).
        // (The size is read before: clang's -Wthread-safety cannot see mu_
        // held inside the lambda.)
        const bool overfull = refusals_.size() >= 20000;
        absl::erase_if(refusals_, [&](const auto& kv) {
          if (now - kv.second.start < kAuditWindow && !overfull) return false;
          if (kv.second.row_id != 0 && kv.second.pending != 0)
            flush.emplace_back(kv.second.row_id, kv.second.pending);
          return true;
        });
      }
      refusals_[key] = RefusalWindow{now, now, 0, 0};
    }
  }
  WriteCounts(flush);
  if (in_window) return;
  SPDLOG_WARN(
      "event=refused method={} actor_kind={} actor=\"{}\" reason=\"{}\" note=\"the same refusal "
      "again within {} s is counted in its audit row, not logged\"",
      PrintablePath(e.action), e.actor_kind, PrintablePath(e.actor), PrintablePath(e.detail),
      absl::ToInt64Seconds(kAuditWindow));
  int64_t id = -1;  // not written: later refusals of the window are dropped
  if (store_ != nullptr) {
    absl::StatusOr<int64_t> row = store_->InsertAudit(e);
    if (row.ok()) {
      id = *row;
    } else {
      SPDLOG_ERROR("event=audit_failed error=\"{}\"", std::string(row.status().message()));
    }
  }
  absl::MutexLock l(&mu_);
  auto it = refusals_.find(key);
  if (it != refusals_.end() && it->second.start == now) it->second.row_id = id;
}

void Authenticator::FlushAudit() const {
  std::vector<std::pair<int64_t, uint64_t>> flush;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock l(&mu_);
    for (auto& [k, w] : refusals_) {
      if (w.row_id > 0 && w.pending != 0) {
        flush.emplace_back(w.row_id, w.pending);
        w.pending = 0;
        w.flushed = now;
      }
    }
    absl::erase_if(refusals_,
                   [&](const auto& kv) { return now - kv.second.start >= 2 * kAuditWindow; });
  }
  WriteCounts(flush);
}

void Authenticator::WriteCounts(const std::vector<std::pair<int64_t, uint64_t>>& flush) const {
  if (store_ == nullptr) return;
  for (const auto& [id, n] : flush) {
    if (id <= 0) continue;
    absl::Status st = store_->AddAuditCount(id, n);
    if (!st.ok()) SPDLOG_ERROR("event=audit_failed error=\"{}\"", std::string(st.message()));
  }
}

void Authenticator::ForgetCertificates() const {
  absl::MutexLock l(&mu_);
  certs_.clear();
}

absl::StatusOr<Caller> Authenticator::FromCertificate(const grpc::ServerContextBase& ctx,
                                                      const std::string& method,
                                                      bool* audit_refusal, Caller* claimed) const {
  *audit_refusal = true;
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  std::vector<grpc::string_ref> pems;
  if (auth) pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        method,
        ": no client certificate; enroll first (shoebox-agent enroll / shoebox-worker enroll "
        "with a token from `shoebox enroll-token`)"));
  }
  const std::string pem(pems[0].data(), pems[0].size());
  {
    absl::MutexLock l(&mu_);
    auto it = certs_.find(pem);
    if (it != certs_.end() &&
        SteadyNow() - it->second.checked < absl::ToChronoNanoseconds(kCertRecheck)) {
      *claimed = it->second.caller;
      if (!it->second.refusal.ok()) return it->second.refusal;
      return it->second.caller;
    }
  }
  CertCheck check;
  check.checked = SteadyNow();
  absl::StatusOr<CertInfo> info = ParseCert(pem);
  if (!info.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(method, ": unreadable client certificate"));
  }
  check.serial = info->serial_hex;
  if (info->org_unit == "device") {
    check.caller.role = Role::kDevice;
  } else if (info->org_unit == "worker") {
    check.caller.role = Role::kWorker;
  } else if (info->org_unit == "admin") {
    check.caller.role = Role::kAdmin;
  } else {
    return absl::UnauthenticatedError(absl::StrCat(
        method, ": client certificate names no Shoebox role (OU device/worker/admin)"));
  }
  check.caller.name = info->common_name;
  *claimed = check.caller;
  absl::StatusOr<CertificateRow> row =
      store_ ? store_->GetCertificate(info->serial_hex) : absl::NotFoundError("no store");
  if (!row.ok() && !absl::IsNotFound(row.status())) {
    // The catalog is unreachable: a recently checked certificate stays good.
    absl::MutexLock l(&mu_);
    auto it = certs_.find(pem);
    if (it != certs_.end() && it->second.refusal.ok()) return it->second.caller;
    *audit_refusal = false;
    return absl::UnavailableError(absl::StrCat(
        method, ": cannot check the client certificate now: ", std::string(row.status().message()),
        "; retry shortly"));
  }
  if (!row.ok()) {
    check.refusal = absl::UnauthenticatedError(absl::StrCat(
        method, ": client certificate ", info->serial_hex, " of ", info->org_unit, " '",
        info->common_name,
        "' was not issued by this coordinator's catalog; enroll again with a new token"));
  } else if (row->revoked_unix_ms != 0) {
    check.refusal = absl::UnauthenticatedError(absl::StrCat(
        method, ": the certificate of ", row->role, " '", row->name, "' was revoked at ",
        FormatMs(row->revoked_unix_ms), "; ask the admin for a new enroll token"));
  } else if (row->role != info->org_unit || row->name != info->common_name) {
    check.refusal = absl::UnauthenticatedError(
        absl::StrCat(method, ": client certificate does not match its catalog record"));
  }
  {
    absl::MutexLock l(&mu_);
    if (certs_.size() > 10000) certs_.clear();
    certs_[pem] = check;
  }
  if (!check.refusal.ok()) return check.refusal;
  return check.caller;
}

absl::Status Authenticator::AdmitAnonymous(const grpc::ServerContextBase& ctx,
                                           std::string_view method_sv) const {
  const std::string method(method_sv);
  if (limits_.enroll_per_second == 0) return absl::OkStatus();
  bool first = false;
  const std::string peer = ctx.peer();
  if (Admit(absl::StrCat("anon|", PeerHost(peer)), limits_.enroll_per_second, 10, &first))
    return absl::OkStatus();
  absl::Status st = absl::ResourceExhaustedError(absl::StrCat(
      method, ": too many attempts from ", PeerHost(peer), "; wait a few seconds and retry"));
  AuditRefusal(
      AuditEntry{"anonymous", PeerHost(peer), method, "", false, std::string(st.message())});
  return st;
}

absl::StatusOr<Caller> Authenticator::Authorize(const grpc::ServerContextBase& ctx,
                                                std::string_view method_sv, Role required) const {
  const std::string method(method_sv);
  // Refusals are aggregated per caller, method and reason (AuditRefusal),
  // so a flood adds to a count instead of filling the audit log.
  auto audit = [&](const absl::Status& st, const std::string& kind, const std::string& actor) {
    AuditEntry e;
    e.actor_kind = kind;
    e.actor = actor;
    e.action = method;
    e.allowed = false;
    e.detail = std::string(st.message());
    AuditRefusal(e);
  };
  auto refuse = [&](absl::Status st, const Caller* c) -> absl::Status {
    audit(st, c ? std::string(RoleName(c->role)) : "anonymous", c ? c->name : PeerHost(ctx.peer()));
    return st;
  };

  Caller c;
  if (insecure_dev_) {
    std::vector<Caller> presented;
    if (std::string d = Meta(ctx, kDeviceKey); !d.empty()) presented.push_back({Role::kDevice, d});
    if (std::string w = Meta(ctx, kWorkerKey); !w.empty()) presented.push_back({Role::kWorker, w});
    if (!Meta(ctx, kAdminKey).empty()) presented.push_back({Role::kAdmin, "admin"});
    if (presented.empty()) {
      return refuse(absl::UnauthenticatedError(absl::StrCat(
                        method,
                        ": no caller identity; set x-shoebox-device, x-shoebox-worker or "
                        "x-shoebox-admin metadata (--insecure-dev)")),
                    nullptr);
    }
    if (presented.size() > 1) {
      return refuse(absl::UnauthenticatedError(absl::StrCat(
                        method, ": more than one identity presented; send exactly one")),
                    &presented[0]);
    }
    c = presented[0];
  } else {
    bool audit_refusal = true;
    Caller claimed;
    claimed.name.clear();
    absl::StatusOr<Caller> from_cert = FromCertificate(ctx, method, &audit_refusal, &claimed);
    if (!from_cert.ok()) {
      if (!audit_refusal) return from_cert.status();
      return refuse(from_cert.status(), claimed.name.empty() ? nullptr : &claimed);
    }
    c = *from_cert;
  }
  if (c.role != Role::kAdmin && !ValidName(c.name)) {
    return refuse(absl::UnauthenticatedError(absl::StrCat(
                      method, ": invalid ", RoleName(c.role),
                      " name (1-128 characters of letters, digits, '-', '_', '.', '@')")),
                  &c);
  }
  if (c.role != required) {
    return refuse(absl::PermissionDeniedError(absl::StrCat(method, " is for ", RoleName(required),
                                                           "s only; the caller is ",
                                                           RoleName(c.role), " '", c.name, "'")),
                  &c);
  }
  if (limits_.calls_per_second != 0) {
    bool first = false;
    if (!Admit(absl::StrCat(RoleName(c.role), "|", c.name), limits_.calls_per_second,
               2.0 * limits_.calls_per_second, &first)) {
      absl::Status st = absl::ResourceExhaustedError(
          absl::StrCat(method, ": ", RoleName(c.role), " '", c.name, "' is over its limit of ",
                       limits_.calls_per_second, " calls/s; slow down and retry"));
      if (first) audit(st, RoleName(c.role), c.name);
      return st;
    }
  }
  if (streams_ != nullptr) {
    absl::Status st = streams_->Admit(&ctx, absl::StrCat(RoleName(c.role), "|", c.name),
                                      absl::StrCat(RoleName(c.role), " '", c.name, "'"), method);
    if (!st.ok()) {
      audit(st, RoleName(c.role), c.name);
      return st;
    }
  }
  return c;
}

void Authenticator::Decide(const grpc::ServerContextBase& ctx, std::string_view full_method) const {
  Decided d;
  const MethodRule* rule = FindMethodRule(full_method);
  if (rule == nullptr) {
    absl::Status st = absl::PermissionDeniedError(absl::StrCat(
        std::string(full_method),
        ": this method has no authorisation rule, so nobody may call it (default deny; "
        "coordinator/auth_rules.cc)"));
    AuditRefusal(AuditEntry{"anonymous", PeerHost(ctx.peer()), std::string(full_method), "", false,
                            std::string(st.message())});
    d.caller = st;
  } else if (rule->access == Access::kAnonymous) {
    d.caller = std::optional<Caller>();
  } else {
    const Role role = rule->access == Access::kDevice   ? Role::kDevice
                      : rule->access == Access::kWorker ? Role::kWorker
                                                        : Role::kAdmin;
    absl::StatusOr<Caller> c = Authorize(ctx, rule->name, role);
    if (c.ok()) {
      d.caller = std::optional<Caller>(*c);
    } else {
      d.caller = c.status();
    }
  }
  absl::MutexLock l(&calls_mu_);
  calls_[&ctx] = std::move(d);
}

absl::StatusOr<Caller> Authenticator::Decision(const grpc::ServerContextBase* ctx) const {
  absl::MutexLock l(&calls_mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) {
    return absl::PermissionDeniedError(
        "no authorisation decision was made for this call; refused (default deny)");
  }
  it->second.used = true;
  if (!it->second.caller.ok()) return it->second.caller.status();
  if (!it->second.caller->has_value()) {
    return absl::PermissionDeniedError(
        "this method is open to anonymous callers and has no caller identity; refused");
  }
  return **it->second.caller;
}

std::optional<absl::Status> Authenticator::Forget(const grpc::ServerContextBase* ctx) const {
  absl::MutexLock l(&calls_mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) return std::nullopt;
  std::optional<absl::Status> unused;
  if (!it->second.used && !it->second.caller.ok()) unused = it->second.caller.status();
  calls_.erase(it);
  return unused;
}

}  // namespace shoebox::coordinator
