#include "coordinator/auth.h"

#include <grpcpp/server_context.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "coordinator/store/store.h"

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

std::string Meta(const grpc::ServerContext& ctx, std::string_view key) {
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

}  // namespace

absl::StatusOr<Caller> Authenticator::Authorize(const grpc::ServerContext& ctx,
                                                std::string_view method_sv, Role required) const {
  const std::string method(method_sv);
  std::vector<Caller> presented;
  if (insecure_dev_) {
    if (std::string d = Meta(ctx, kDeviceKey); !d.empty()) presented.push_back({Role::kDevice, d});
    if (std::string w = Meta(ctx, kWorkerKey); !w.empty()) presented.push_back({Role::kWorker, w});
    if (!Meta(ctx, kAdminKey).empty()) presented.push_back({Role::kAdmin, "admin"});
  }
  auto refuse = [&](absl::Status st, const Caller* c) -> absl::Status {
    AuditEntry e;
    e.actor_kind = c ? std::string(RoleName(c->role)) : "anonymous";
    e.actor = c ? c->name : ctx.peer();
    e.action = std::string(method);
    e.allowed = false;
    e.detail = std::string(st.message());
    SPDLOG_WARN("event=refused method={} actor_kind={} actor=\"{}\" peer={} reason=\"{}\"", method,
                e.actor_kind, e.actor, ctx.peer(), std::string(st.message()));
    if (store_ != nullptr) {
      absl::Status a = store_->Audit(e);
      if (!a.ok()) SPDLOG_ERROR("event=audit_failed error=\"{}\"", std::string(a.message()));
    }
    return st;
  };
  if (presented.empty()) {
    return refuse(absl::UnauthenticatedError(absl::StrCat(
                      method, ": no caller identity; ",
                      insecure_dev_ ? "set x-shoebox-device, x-shoebox-worker or x-shoebox-admin "
                                      "metadata (--insecure-dev)"
                                    : "present an enrolled client certificate")),
                  nullptr);
  }
  if (presented.size() > 1) {
    return refuse(absl::UnauthenticatedError(absl::StrCat(
                      method, ": more than one identity presented; send exactly one")),
                  &presented[0]);
  }
  const Caller& c = presented[0];
  if (c.role != Role::kAdmin && !ValidName(c.name)) {
    return refuse(absl::UnauthenticatedError(absl::StrCat(
                      method, ": invalid ", RoleName(c.role),
                      " name (1-128 characters of letters, digits, '-', '_', '.', '@')")),
                  &c);
  }
  if (c.role != required) {
    return refuse(absl::PermissionDeniedError(absl::StrCat(
                      method, " is for ", RoleName(required), "s only; the caller is ",
                      RoleName(c.role), " '", c.name, "'")),
                  &c);
  }
  return c;
}

}  // namespace shoebox::coordinator
