#include "common/http/oauth.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/hash.h"
#include "common/http/url.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace shoebox::http {
namespace {

using json = nlohmann::json;

constexpr char kUnreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

std::string Origin(absl::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return "";
  size_t slash = url.find('/', scheme + 3);
  return std::string(url.substr(0, slash));
}

absl::StatusOr<json> ParseJsonBody(const Response& resp, absl::string_view what) {
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::UnavailableError(absl::StrCat(what, ": ", resp.method, " ", resp.url, ": HTTP ",
                                               resp.status, " answer is not a JSON object"));
  }
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "";
}

absl::Duration Seconds(const json& j, const char* key, absl::Duration fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  int64_t s = 0;
  if (it->is_number_integer())
    s = it->get<int64_t>();
  else if (it->is_string())
    s = std::atoll(it->get<std::string>().c_str());
  else
    return fallback;
  return s > 0 ? absl::Seconds(s) : fallback;
}

// A non-2xx answer of the token or device endpoint as a status.
absl::Status TokenError(const Response& resp, absl::string_view what, absl::string_view refused) {
  if (resp.status == 429 || resp.status >= 500) {
    absl::Status s = ErrorStatus(resp, what);
    if (resp.status == 429) {
      absl::Status r = absl::ResourceExhaustedError(s.message());
      s.ForEachPayload([&](absl::string_view url, const absl::Cord& p) { r.SetPayload(url, p); });
      return r;
    }
    return s;
  }
  json j = json::parse(resp.body, nullptr, false);
  const std::string error = j.is_object() ? Str(j, "error") : "";
  const std::string desc = j.is_object() ? Str(j, "error_description") : "";
  const std::string detail = desc.empty() ? error : absl::StrCat(error, ": ", desc);
  if (error == "invalid_grant") {
    return absl::UnauthenticatedError(absl::StrCat(refused, " (", detail, ")"));
  }
  if (error == "invalid_client" || error == "unauthorized_client" || resp.status == 401) {
    return absl::UnauthenticatedError(absl::StrCat(
        what, ": the service refused the client (", detail.empty() ? "HTTP 401" : detail,
        "); check the destination's client_id and client_secret"));
  }
  if (error.empty()) return ErrorStatus(resp, what);
  return absl::FailedPreconditionError(absl::StrCat(what, ": ", resp.method, " ", resp.url,
                                                    ": HTTP ", resp.status, " (", detail, ")"));
}

absl::StatusOr<TokenResponse> ParseTokens(const Response& resp, absl::string_view what) {
  ASSIGN_OR_RETURN(json j, ParseJsonBody(resp, what));
  TokenResponse t;
  t.access_token = Str(j, "access_token");
  t.refresh_token = Str(j, "refresh_token");
  t.scope = Str(j, "scope");
  t.expires_in = Seconds(j, "expires_in", absl::InfiniteDuration());
  if (t.access_token.empty()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": ", resp.url, ": the answer has no access_token"));
  }
  return t;
}

absl::StatusOr<Response> PostForm(const Client& http, const std::string& url,
                                  const QueryParams& form) {
  const std::string body = QueryString(form);
  Request r{.method = "POST", .url = url, .body = body};
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"Accept", "application/json"}};
  return http.Send(r);
}

void AddClient(const OAuthClient& c, QueryParams* form) {
  form->push_back({"client_id", c.client_id});
  if (!c.client_secret.empty()) form->push_back({"client_secret", c.client_secret});
}

std::vector<OAuthProfile> Profiles() {
  return {
      {"dropbox",
       "Dropbox",
       "https://www.dropbox.com/oauth2/authorize",
       "https://api.dropboxapi.com/oauth2/token",
       "",
       {"files.content.write", "files.content.read", "files.metadata.read"},
       {{"token_access_type", "offline"}},
       "https://www.dropbox.com/developers/apps"},
      {"onedrive",
       "OneDrive",
       "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
       "https://login.microsoftonline.com/common/oauth2/v2.0/token",
       "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
       {"Files.ReadWrite", "offline_access"},
       {},
       "https://entra.microsoft.com (App registrations)"},
      {"gdrive",
       "Google Drive",
       "https://accounts.google.com/o/oauth2/v2/auth",
       "https://oauth2.googleapis.com/token",
       "https://oauth2.googleapis.com/device/code",
       {"https://www.googleapis.com/auth/drive.file"},
       {{"access_type", "offline"}, {"prompt", "consent"}},
       "https://console.cloud.google.com/apis/credentials"},
      // Google Photos with the scopes that exist since 31 March 2025: add
      // items and albums; read and edit only what the app created.
      {"gphotos",
       "Google Photos",
       "https://accounts.google.com/o/oauth2/v2/auth",
       "https://oauth2.googleapis.com/token",
       "",  // Google's device flow does not allow the Photos scopes
       {"https://www.googleapis.com/auth/photoslibrary.appendonly",
        "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata",
        "https://www.googleapis.com/auth/photoslibrary.edit.appcreateddata"},
       {{"access_type", "offline"}, {"prompt", "consent"}},
       "https://console.cloud.google.com/apis/credentials"},
      // Flickr and SmugMug use OAuth 1.0a and have no profile here.
  };
}

}  // namespace

std::string Base64UrlEncode(absl::string_view in) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
    out += kAlpha[v & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += kAlpha[(v >> 6) & 63];
  }
  return out;
}

std::string PkceChallenge(absl::string_view verifier) {
  return Base64UrlEncode(
      DigestToString(Sha256::Of(std::string_view(verifier.data(), verifier.size()))));
}

Pkce MakePkce() {
  // 64 characters from the 66 unreserved ones; rejection sampling keeps
  // the choice uniform (256 = 3*66 + 58: bytes >= 198 are drawn again).
  std::string v;
  while (v.size() < 64) {
    uint8_t buf[64];
    SecureRandom(buf, sizeof buf);
    for (uint8_t b : buf) {
      if (b < 198 && v.size() < 64) v += kUnreserved[b % 66];
    }
  }
  return Pkce{v, PkceChallenge(v)};
}

std::string RandomState() {
  uint8_t buf[32];
  SecureRandom(buf, sizeof buf);
  return Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(buf), sizeof buf));
}

absl::StatusOr<OAuthProfile> LookUpOAuthProfile(absl::string_view kind) {
  for (OAuthProfile& p : Profiles())
    if (p.kind == kind) return p;
  return absl::InvalidArgumentError(
      absl::StrCat("kind '", kind,
                   "' does not connect with OAuth 2.0; the kinds that do are: ", OAuthKindNames()));
}

std::string OAuthKindNames() {
  std::vector<std::string> names;
  for (const OAuthProfile& p : Profiles()) names.push_back(p.kind);
  return absl::StrJoin(names, ", ");
}

OAuthProfile WithAuthEndpoint(OAuthProfile p, absl::string_view auth_endpoint) {
  std::string base(auth_endpoint);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.empty()) return p;
  for (std::string* u : {&p.auth_url, &p.token_url, &p.device_url}) {
    if (u->empty()) continue;
    *u = base + u->substr(Origin(*u).size());
  }
  return p;
}

std::string AuthorizationUrl(const OAuthProfile& p, const std::string& client_id,
                             const std::string& redirect_uri, const std::string& state,
                             const std::string& code_challenge) {
  QueryParams q = {{"response_type", "code"},          {"client_id", client_id},
                   {"redirect_uri", redirect_uri},     {"state", state},
                   {"code_challenge", code_challenge}, {"code_challenge_method", "S256"}};
  if (!p.scopes.empty()) q.push_back({"scope", absl::StrJoin(p.scopes, " ")});
  for (const auto& kv : p.auth_params) q.push_back(kv);
  return absl::StrCat(p.auth_url, absl::StrContains(p.auth_url, '?') ? "&" : "?", QueryString(q));
}

absl::StatusOr<TokenResponse> ExchangeCode(const Client& http, const OAuthClient& client,
                                           const std::string& code, const std::string& redirect_uri,
                                           const std::string& code_verifier) {
  QueryParams form = {{"grant_type", "authorization_code"},
                      {"code", code},
                      {"redirect_uri", redirect_uri},
                      {"code_verifier", code_verifier}};
  AddClient(client, &form);
  ASSIGN_OR_RETURN(Response resp, PostForm(http, client.token_url, form));
  if (!resp.ok()) {
    return TokenError(resp, "exchange the authorization code",
                      "the service refused the authorization code: it was used already or has "
                      "expired; sign in again");
  }
  return ParseTokens(resp, "exchange the authorization code");
}

absl::StatusOr<TokenResponse> RefreshGrant(const Client& http, const OAuthClient& client,
                                           const std::string& refresh_token,
                                           const std::vector<std::string>& scopes,
                                           const std::string& destination) {
  QueryParams form = {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}};
  if (!scopes.empty()) form.push_back({"scope", absl::StrJoin(scopes, " ")});
  AddClient(client, &form);
  ASSIGN_OR_RETURN(Response resp, PostForm(http, client.token_url, form));
  if (!resp.ok()) {
    return TokenError(resp, "refresh the access token",
                      absl::StrCat("the service refused the refresh token: reconnect with "
                                   "`shoebox dest connect ",
                                   destination.empty() ? "NAME" : destination, "`"));
  }
  return ParseTokens(resp, "refresh the access token");
}

absl::StatusOr<DeviceAuthorization> StartDeviceAuthorization(
    const Client& http, const std::string& device_url, const std::string& client_id,
    const std::vector<std::string>& scopes) {
  if (device_url.empty()) {
    return absl::FailedPreconditionError(
        "this service has no device-code flow; use `shoebox authorize KIND` on a machine with "
        "a browser and `shoebox dest connect NAME --token-file F`");
  }
  QueryParams form = {{"client_id", client_id}};
  if (!scopes.empty()) form.push_back({"scope", absl::StrJoin(scopes, " ")});
  ASSIGN_OR_RETURN(Response resp, PostForm(http, device_url, form));
  if (!resp.ok()) return TokenError(resp, "start the device authorization", "");
  ASSIGN_OR_RETURN(json j, ParseJsonBody(resp, "start the device authorization"));
  DeviceAuthorization d;
  d.device_code = Str(j, "device_code");
  d.user_code = Str(j, "user_code");
  d.verification_uri = Str(j, "verification_uri");
  if (d.verification_uri.empty()) d.verification_uri = Str(j, "verification_url");  // Google
  d.verification_uri_complete = Str(j, "verification_uri_complete");
  d.interval = Seconds(j, "interval", absl::Seconds(5));
  d.expires_in = Seconds(j, "expires_in", absl::Minutes(15));
  if (d.device_code.empty() || d.user_code.empty() || d.verification_uri.empty()) {
    return absl::UnavailableError(
        absl::StrCat("start the device authorization: ", device_url,
                     ": the answer lacks device_code, user_code or verification_uri"));
  }
  return d;
}

absl::StatusOr<TokenResponse> PollDeviceToken(const Client& http, const OAuthClient& client,
                                              const DeviceAuthorization& device,
                                              const std::function<void(absl::Duration)>& sleep) {
  absl::Duration interval = device.interval;
  absl::Duration waited;
  QueryParams form = {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                      {"device_code", device.device_code}};
  AddClient(client, &form);
  const char* what = "wait for the device authorization";
  while (true) {
    if (sleep)
      sleep(interval);
    else
      absl::SleepFor(interval);
    waited += interval;
    ASSIGN_OR_RETURN(Response resp, PostForm(http, client.token_url, form));
    if (resp.ok()) return ParseTokens(resp, what);
    json j = json::parse(resp.body, nullptr, false);
    const std::string error = j.is_object() ? Str(j, "error") : "";
    if (error == "authorization_pending") {
    } else if (error == "slow_down") {
      interval += absl::Seconds(5);  // RFC 8628 3.5
    } else if (error == "expired_token" || (waited >= device.expires_in && error.empty())) {
      return absl::DeadlineExceededError(
          "the device code expired before it was approved; run `shoebox dest connect` again");
    } else if (error == "access_denied") {
      return absl::PermissionDeniedError("the sign-in was declined at the service");
    } else {
      return TokenError(resp, what,
                        "the service refused the device code; run `shoebox dest connect` again");
    }
  }
}

OAuthTokenSource::OAuthTokenSource(OAuthTokenSourceOptions options) : options_(std::move(options)) {
  if (options_.http == nullptr) {
    own_http_ = std::make_unique<Client>(ClientOptions{
        .unreachable_hint = "is the service's token endpoint reachable from the worker?"});
    http_ = own_http_.get();
  } else {
    http_ = options_.http;
  }
  refresh_token_ = options_.refresh_token;
}

OAuthTokenSource::~OAuthTokenSource() = default;

absl::StatusOr<std::string> OAuthTokenSource::AccessToken() {
  auto usable = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !access_token_.empty() && !rotation_unsaved_ && Now() + absl::Minutes(1) < expires_;
  };
  {
    absl::MutexLock l(&mu_);
    if (usable()) return access_token_;
  }
  absl::MutexLock one(&refresh_mu_);
  std::string refresh;
  {
    absl::MutexLock l(&mu_);
    if (usable()) return access_token_;  // another thread refreshed meanwhile
    if (rotation_unsaved_) {
      // The service already gave a new refresh token we could not save.
      if (options_.on_rotated) RETURN_IF_ERROR(options_.on_rotated(refresh_token_));
      rotation_unsaved_ = false;
      if (usable()) return access_token_;
    }
    refresh = refresh_token_;
  }
  if (refresh.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("destination ", options_.destination,
                     " has no refresh token: connect it with `shoebox "
                     "dest connect ",
                     options_.destination.empty() ? "NAME" : options_.destination, "`"));
  }
  ASSIGN_OR_RETURN(TokenResponse t, RefreshGrant(*http_, options_.client, refresh, options_.scopes,
                                                 options_.destination));
  bool rotated = false;
  {
    absl::MutexLock l(&mu_);
    ++refreshes_;
    access_token_ = t.access_token;
    expires_ =
        t.expires_in == absl::InfiniteDuration() ? absl::InfiniteFuture() : Now() + t.expires_in;
    if (!t.refresh_token.empty() && t.refresh_token != refresh_token_) {
      refresh_token_ = t.refresh_token;
      rotation_unsaved_ = true;  // nobody gets the access token until it is saved
      rotated = true;
    }
  }
  if (rotated) {
    // refresh_mu_ is held: no other refresh runs while the new token is saved.
    if (options_.on_rotated) RETURN_IF_ERROR(options_.on_rotated(t.refresh_token));
    absl::MutexLock l(&mu_);
    rotation_unsaved_ = false;
  }
  return t.access_token;
}

void OAuthTokenSource::Invalidate(std::string_view token) {
  absl::MutexLock l(&mu_);
  if (token == access_token_) {
    access_token_.clear();
    expires_ = absl::InfinitePast();
  }
}

std::string OAuthTokenSource::refresh_token() const {
  absl::MutexLock l(&mu_);
  return refresh_token_;
}

int OAuthTokenSource::refreshes() const {
  absl::MutexLock l(&mu_);
  return refreshes_;
}

}  // namespace shoebox::http
