#include "cli/dest_connect_oauth1.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/dest_check.h"
#include "cli/dest_input.h"
#include "common/http/http_client.h"
#include "common/http/oauth1.h"
#include "common/http/url.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {
namespace {

using json = nlohmann::json;

// The two profiles (flickr.com/services/api/auth.oauth.html;
// api.smugmug.com/api/v2/doc/tutorial/authorization.html).
struct Profile {
  const char* kind;
  const char* service;
  const char* base;  // what auth_endpoint replaces
  bool base_is_origin;
  const char* request_token;
  const char* authorize;
  const char* access_token;
  const char* authorize_extra;
};
constexpr Profile kProfiles[] = {
    {"flickr", "Flickr", "https://www.flickr.com/services", false, "/oauth/request_token",
     "/oauth/authorize", "/oauth/access_token", "&perms=write"},
    // SmugMug: uploads, replacements and new folders need Full access with
    // Modify permission.
    {"smugmug", "SmugMug", "https://api.smugmug.com", true, "/services/oauth/1.0a/getRequestToken",
     "/services/oauth/1.0a/authorize", "/services/oauth/1.0a/getAccessToken",
     "&Access=Full&Permissions=Modify"},
};

const Profile* FindProfile(const std::string& kind) {
  for (const Profile& p : kProfiles)
    if (kind == p.kind) return &p;
  return nullptr;
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    ss << in.rdbuf();
  }
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

// One signed GET to a token endpoint; its form-encoded answer.
absl::StatusOr<http::QueryParams> TokenCall(const std::string& url,
                                            const http::OAuth1Credentials& creds,
                                            const http::QueryParams& extra,
                                            const std::string& what) {
  ASSIGN_OR_RETURN(http::QueryParams oauth,
                   http::OAuth1Sign(http::OAuth1Request{"GET", url, {}, extra}, creds));
  http::Client client(http::ClientOptions{.unreachable_hint = "is the service reachable?"});
  http::Request r{.url = url};
  r.headers = {{"Authorization", http::OAuth1AuthorizationHeader(oauth)}};
  ASSIGN_OR_RETURN(http::Response resp, client.Send(r));
  if (!resp.ok()) {
    std::string body = resp.body.substr(0, 200);
    absl::Status s = http::ErrorStatus(resp, what, body);
    if (resp.status == 401) {
      return absl::UnauthenticatedError(
          absl::StrCat(s.message(),
                       "; check the API key and secret (a PIN is good for one try: run `shoebox "
                       "dest connect` again for a new one)"));
    }
    return s;
  }
  http::QueryParams out = http::ParseFormEncoded(absl::StripAsciiWhitespace(resp.body));
  return out;
}

std::string Value(const http::QueryParams& p, const std::string& key) {
  for (const auto& [k, v] : p)
    if (k == key) return v;
  return "";
}

}  // namespace

bool IsOAuth1Kind(const std::string& kind) { return FindProfile(kind) != nullptr; }

absl::StatusOr<OAuth1Endpoints> OAuth1EndpointsFor(const std::string& kind,
                                                   const std::string& auth_endpoint) {
  const Profile* p = FindProfile(kind);
  if (p == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("kind ", kind, " does not use OAuth 1.0a"));
  std::string base = p->base;
  if (!auth_endpoint.empty()) {
    ASSIGN_OR_RETURN(http::UrlParts u, http::ParseHttpUrl(auth_endpoint));
    base = p->base_is_origin ? u.Origin() : std::string(absl::StripSuffix(auth_endpoint, "/"));
  }
  return OAuth1Endpoints{base + p->request_token, base + p->authorize, base + p->access_token,
                         p->authorize_extra, p->service};
}

int ConnectOAuth1(AdminClient& client, const v1::Destination& d, const OAuth1ConnectFlags& f) {
  const std::string& name = d.name();
  const std::string cmd = "dest connect " + name;
  json settings = json::parse(d.settings_json(), nullptr, false);
  if (!settings.is_object()) settings = json::object();
  const std::string api_key = settings.value("api_key", "");
  auto usage = [&](const std::string& msg) {
    std::fprintf(stderr, "shoebox: %s: %s\n", cmd.c_str(), msg.c_str());
    return 2;
  };
  if (api_key.empty()) {
    return usage(absl::StrCat("destination ", name, " has no api_key; `shoebox dest set ", name,
                              " --set api_key=KEY`"));
  }
  auto ep = OAuth1EndpointsFor(d.kind(), settings.value("auth_endpoint", ""));
  if (!ep.ok()) return usage(std::string(ep.status().message()));
  // The API secret is sealed with the tokens and cannot be read back.
  absl::StatusOr<std::string> secret;
  if (!f.secret_file.empty()) {
    secret = ReadText(f.secret_file);
  } else if (f.secret_stdin) {
    secret = ReadSecretFromStdin("api_secret");
    if (secret.ok()) secret = std::string(absl::StripAsciiWhitespace(*secret));
  } else {
    return usage(absl::StrCat(ep->service,
                              " signs with the API key's secret: give it with "
                              "--client-secret-file F (or --client-secret-stdin)"));
  }
  if (!secret.ok()) return FailStatus(secret.status());
  if (secret->empty()) return usage("the API secret is empty");

  http::OAuth1Credentials creds{api_key, *secret, "", ""};
  auto rt = TokenCall(ep->request_token, creds, {{"oauth_callback", "oob"}},
                      absl::StrCat(ep->service, " request token"));
  if (!rt.ok()) return FailStatus(rt.status());
  creds.token = Value(*rt, "oauth_token");
  creds.token_secret = Value(*rt, "oauth_token_secret");
  if (creds.token.empty() || Value(*rt, "oauth_callback_confirmed") != "true") {
    return FailStatus(absl::FailedPreconditionError(
        absl::StrCat(ep->service, " answered no usable request token")));
  }
  const std::string url = absl::StrCat(
      ep->authorize, "?oauth_token=", http::PercentEncode(creds.token, false), ep->authorize_extra);
  std::printf(
      "Open this URL in a browser (on any machine), allow Shoebox access to %s, and enter the "
      "code it shows:\n%s\n",
      ep->service.c_str(), url.c_str());
  std::fflush(stdout);
  std::string verifier;
  if (!f.verifier_file.empty()) {
    auto v = ReadText(f.verifier_file);
    if (!v.ok()) return FailStatus(v.status());
    verifier = *v;
  } else {
    std::printf("code: ");
    std::fflush(stdout);
    std::getline(std::cin, verifier);
    verifier = std::string(absl::StripAsciiWhitespace(verifier));
  }
  if (verifier.empty()) return usage("no code was entered; run it again");

  auto at = TokenCall(ep->access_token, creds, {{"oauth_verifier", verifier}},
                      absl::StrCat(ep->service, " access token"));
  if (!at.ok()) return FailStatus(at.status());
  json secrets = {{"api_secret", *secret},
                  {"oauth_token", Value(*at, "oauth_token")},
                  {"oauth_token_secret", Value(*at, "oauth_token_secret")}};
  if (secrets["oauth_token"] == "" || secrets["oauth_token_secret"] == "") {
    return FailStatus(
        absl::FailedPreconditionError(absl::StrCat(ep->service, " answered no access token")));
  }
  if (int rc = StoreSignInSecrets(client, name, secrets.dump(), "the access token"); rc != 0)
    return rc;
  std::string who = Value(*at, "username");
  std::printf("destination %s connected%s (access token sealed to the worker pool key)\n",
              name.c_str(), who.empty() ? "" : absl::StrCat(" as ", who).c_str());
  if (f.no_check) return 0;
  CheckResult r = RunDestinationCheck(
      client, name, d.kind(),
      CheckOptions{.write_probe = true, .timeout = std::chrono::milliseconds(60000)});
  if (!r.passed) {
    std::fprintf(stderr, "shoebox: destination %s: connected, but %s\n", name.c_str(),
                 r.message.c_str());
    return 1;
  }
  std::printf("connection checked: %s\n", r.detail.c_str());
  return 0;
}

}  // namespace shoebox::cli
