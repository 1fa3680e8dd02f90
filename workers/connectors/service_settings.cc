#include "workers/connectors/service_settings.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/oauth.h"
#include "common/status.h"

namespace shoebox::worker {

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
  t.on_rotated = [kind = std::string(kind), store = env.store_credentials,
                  creds = credentials](const std::string& refresh) -> absl::Status {
    if (!store) {
      return absl::FailedPreconditionError(absl::StrCat(
          kind, ": the service rotated the refresh token and this process cannot store it"));
    }
    nlohmann::json c = creds;
    c["refresh_token"] = refresh;
    return store(c);
  };
  return std::shared_ptr<http::TokenSource>(std::make_shared<http::OAuthTokenSource>(std::move(t)));
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
