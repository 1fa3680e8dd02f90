#include "workers/connectors/service_settings.h"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/oauth.h"
#include "common/status.h"
#include "workers/connectors/retrying_connector.h"

namespace shoebox::worker {

namespace {

// One OAuthTokenSource per destination in this process, shared by the
// connectors of all its jobs (a connector is opened per job). Without it
// every job refreshes with the refresh token its lease carried, and once one
// job has used it, a service that rotates refresh tokens (Microsoft) refuses
// it to the next job with invalid_grant: the destination would be held as
// "authentication failed" while its account is fine. Shared, there is one
// refresh for all jobs, the access token is reused across jobs, and a
// rotated refresh token is stored through any job of the destination that
// still holds its lease.
struct SharedTokens {
  std::shared_ptr<http::OAuthTokenSource> source;
  absl::Mutex mu;
  // Every refresh token this source has held: a lease that carries one of
  // them (an older one, stored before the last rotation reached the
  // coordinator) is this account; any other is a new connection
  // (`shoebox dest connect` again) and gets a new source.
  std::set<std::string> known ABSL_GUARDED_BY(mu);
  nlohmann::json credentials ABSL_GUARDED_BY(mu);
  // store_credentials of the live connectors (their jobs hold leases).
  std::map<uint64_t, std::function<absl::Status(const nlohmann::json&)>> stores ABSL_GUARDED_BY(mu);
  uint64_t next_store ABSL_GUARDED_BY(mu) = 0;
};

absl::Mutex registry_mu(absl::kConstInit);
std::map<std::string, std::shared_ptr<SharedTokens>>& Registry()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry_mu) {
  static auto* m = new std::map<std::string, std::shared_ptr<SharedTokens>>();
  return *m;
}

// A connector's handle on the shared source; its store function leaves the
// shared state with it (the job's lease ends with the connector).
class SharedTokenHandle : public http::TokenSource {
 public:
  SharedTokenHandle(std::shared_ptr<SharedTokens> shared, uint64_t store_id)
      : shared_(std::move(shared)), store_id_(store_id) {}
  ~SharedTokenHandle() override {
    absl::MutexLock l(&shared_->mu);
    shared_->stores.erase(store_id_);
  }
  absl::StatusOr<std::string> AccessToken() override { return shared_->source->AccessToken(); }
  void Invalidate(std::string_view token) override { shared_->source->Invalidate(token); }

 private:
  std::shared_ptr<SharedTokens> shared_;
  uint64_t store_id_;
};

absl::Status StoreRotated(const std::weak_ptr<SharedTokens>& weak, const std::string& kind,
                          const std::string& refresh) {
  std::shared_ptr<SharedTokens> s = weak.lock();
  if (s == nullptr) return absl::OkStatus();
  nlohmann::json creds;
  std::vector<std::function<absl::Status(const nlohmann::json&)>> stores;
  {
    absl::MutexLock l(&s->mu);
    s->known.insert(refresh);
    s->credentials["refresh_token"] = refresh;
    creds = s->credentials;
    for (auto it = s->stores.rbegin(); it != s->stores.rend(); ++it) stores.push_back(it->second);
  }
  absl::Status last = absl::FailedPreconditionError(absl::StrCat(
      kind,
      ": the service rotated the refresh token and no job of this destination is running "
      "on this worker to store it"));
  for (const auto& store : stores) {  // newest job first
    if (!store) continue;
    last = store(creds);
    if (last.ok()) return last;
  }
  return last;
}

}  // namespace

absl::StatusOr<std::shared_ptr<http::TokenSource>> MakeServiceTokenSource(
    const char* kind, const SettingsReader& in, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  ASSIGN_OR_RETURN(std::string auth_endpoint, in.String("auth_endpoint"));
  ASSIGN_OR_RETURN(http::OAuthProfile profile, http::LookUpOAuthProfile(kind));
  profile = http::WithAuthEndpoint(std::move(profile), auth_endpoint);

  http::OAuthTokenSourceOptions t;
  t.client.token_url = profile.token_url;
  ASSIGN_OR_RETURN(t.client.client_id, in.String("client_id"));
  ASSIGN_OR_RETURN(t.client.client_secret, in.String("client_secret", /*secret=*/true));
  ASSIGN_OR_RETURN(t.refresh_token, in.String("refresh_token", /*secret=*/true));
  if (t.refresh_token.empty()) {
    // An auth failure: the destination is held with this reason.
    return absl::UnauthenticatedError(
        absl::StrCat(kind, " destination '", env.destination_name,
                     "' is not connected to an account yet: run `shoebox dest connect ",
                     env.destination_name.empty() ? "NAME" : env.destination_name, "`"));
  }
  t.scopes = profile.scopes;
  t.destination = env.destination_name;

  const std::string key = absl::StrCat(kind, "\n", env.destination_name, "\n", t.client.token_url,
                                       "\n", t.client.client_id, "\n", t.client.client_secret);
  absl::MutexLock registry_lock(&registry_mu);
  std::shared_ptr<SharedTokens>& shared = Registry()[key];
  bool reuse = false;
  if (shared != nullptr) {
    absl::MutexLock l(&shared->mu);
    reuse = shared->known.count(t.refresh_token) > 0;
  }
  if (!reuse) {
    auto fresh = std::make_shared<SharedTokens>();
    {
      absl::MutexLock l(&fresh->mu);
      fresh->known.insert(t.refresh_token);
      fresh->credentials = credentials;
    }
    t.on_rotated = [weak = std::weak_ptr<SharedTokens>(fresh), k = std::string(kind)](
                       const std::string& refresh) { return StoreRotated(weak, k, refresh); };
    fresh->source = std::make_shared<http::OAuthTokenSource>(std::move(t));
    shared = std::move(fresh);
  }
  uint64_t id;
  {
    absl::MutexLock l(&shared->mu);
    id = shared->next_store++;
    shared->stores[id] = env.store_credentials;
  }
  return std::shared_ptr<http::TokenSource>(std::make_shared<SharedTokenHandle>(shared, id));
}

absl::StatusOr<std::unique_ptr<Connector>> MakeServiceConnector(const char* kind,
                                                                const nlohmann::json& settings,
                                                                const nlohmann::json& credentials,
                                                                const ConnectorEnvironment& env,
                                                                const ServiceConnectorMaker& make) {
  const SettingsReader in(kind, settings, credentials);
  ASSIGN_OR_RETURN(std::shared_ptr<http::TokenSource> tokens,
                   MakeServiceTokenSource(kind, in, credentials, env));
  ASSIGN_OR_RETURN(std::unique_ptr<Connector> c,
                   make(ServiceAccountKey(kind, in, env), std::move(tokens)));
  return std::unique_ptr<Connector>(
      std::make_unique<RetryingConnector>(std::move(c), RetryOptions{}));
}

std::string ServiceAccountKey(const char* kind, const SettingsReader& in,
                              const ConnectorEnvironment& env) {
  // Unreadable settings fail the connector elsewhere; "" keeps it alone.
  absl::StatusOr<std::string> endpoint = in.String("endpoint");
  absl::StatusOr<std::string> client = in.String("client_id");
  return absl::StrCat(kind, "\n", env.destination_name, "\n", endpoint.value_or(""), "\n",
                      client.value_or(""));
}

absl::StatusOr<std::string> ServiceFolderSetting(const char* kind, const SettingsReader& in,
                                                 bool root_allowed) {
  absl::StatusOr<std::string> read = in.String("folder");
  if (!read.ok()) return read.status();
  const std::string raw = *read;
  std::string folder = raw;
  if (!folder.empty() && folder.front() == '/') folder.erase(0, 1);
  if (!folder.empty() && folder.back() == '/') folder.pop_back();
  if (folder.empty()) {
    if (root_allowed) return folder;
    return absl::InvalidArgumentError(
        absl::StrCat(kind,
                     " destination: setting 'folder' must name a folder (e.g. \"Shoebox\"); the "
                     "account's root itself is not used; fix it with `shoebox dest set`"));
  }
  for (absl::string_view part : absl::StrSplit(folder, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          kind, " destination: setting 'folder' \"", raw,
          "\" has an empty, \".\" or \"..\" component; use a path such as Photos/Shoebox "
          "with `shoebox dest set`"));
    }
  }
  return folder;
}

}  // namespace shoebox::worker
