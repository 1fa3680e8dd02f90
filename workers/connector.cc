#include "workers/connector.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace shoebox::worker {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ConnectorFactoryWithEnv> kinds;
};

Registry& GetRegistry() {
  static Registry* r = new Registry();  // never destroyed: used at static init/exit
  return *r;
}

}  // namespace

bool RegisterConnectorKind(const std::string& kind, ConnectorFactory factory) {
  return RegisterConnectorKind(
      kind, ConnectorFactoryWithEnv([f = std::move(factory)](const nlohmann::json& settings,
                                                             const nlohmann::json& credentials,
                                                             const ConnectorEnvironment&) {
        return f(settings, credentials);
      }));
}

bool RegisterConnectorKind(const std::string& kind, ConnectorFactoryWithEnv factory) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  r.kinds[kind] = std::move(factory);
  return true;
}

std::vector<std::string> RegisteredConnectorKinds() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  std::vector<std::string> out;
  for (const auto& [k, _] : r.kinds) out.push_back(k);
  return out;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeConnector(const std::string& kind,
                                                         const nlohmann::json& settings,
                                                         const nlohmann::json& credentials,
                                                         const ConnectorEnvironment& env) {
  ConnectorFactoryWithEnv f;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> l(r.mu);
    auto it = r.kinds.find(kind);
    if (it != r.kinds.end()) f = it->second;
  }
  if (!f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "destination kind '", kind, "' is not supported by this worker (it supports: ",
        absl::StrJoin(RegisteredConnectorKinds(), ", "), "); run a worker built with it"));
  }
  if (!settings.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("destination settings for kind '", kind, "' must be a JSON object"));
  }
  const nlohmann::json empty = nlohmann::json::object();
  return f(settings, credentials.is_object() ? credentials : empty, env);
}

RetryClass ClassifyForRetry(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
      return RetryClass::kAuth;
    case absl::StatusCode::kPermissionDenied:
      // One object refused (issue 18): not the destination's credentials.
      return RetryClass::kRefused;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss:
      // Retrying the same delivery cannot change these: bad settings, a
      // quota, a file the service refuses, a chunk missing or corrupt in the
      // chunk store (scrub/repair is the fix, not a retry).
      return RetryClass::kPermanent;
    case absl::StatusCode::kOk:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    default:
      return RetryClass::kRetryable;
  }
}

}  // namespace shoebox::worker
