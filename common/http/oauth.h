// OAuth 2.0 for the cloud services Shoebox delivers to (Dropbox, OneDrive,
// Google Drive; room for Google Photos), on the one http::Client:
//
// - PKCE (RFC 7636, S256): a 64-character verifier from the CSPRNG.
// - The authorization URL (RFC 6749 4.1.1 + PKCE), the authorization-code
//   exchange (4.1.3), the refresh grant (6) and the device authorization
//   grant (RFC 8628) with its polling rules (`interval`, `slow_down` adds 5
//   seconds, `authorization_pending`, `expired_token`, `access_denied`).
// - OAuthTokenSource: the worker's TokenSource (common/http/token_source.h).
//
// Client authentication is client_secret_post (the id and, when there is
// one, the secret in the form body): all three services accept it, and a
// public client (no secret, Microsoft) sends only client_id.
//
// Errors of the token endpoint (RFC 6749 5.2):
//   invalid_grant               → UNAUTHENTICATED "the service refused the
//                                 refresh token: reconnect with `shoebox dest
//                                 connect NAME`" (or, for a code, "sign in
//                                 again");
//   invalid_client, unauthorized_client → UNAUTHENTICATED naming client_id;
//   HTTP 429                    → RESOURCE_EXHAUSTED with the Retry-After hint;
//   HTTP 503 (and other 5xx)    → UNAVAILABLE with the Retry-After hint;
//   anything else               → FAILED_PRECONDITION with the service's
//                                 error and error_description.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/http/token_source.h"

namespace shoebox::http {

// RFC 4648 section 5 without padding.
std::string Base64UrlEncode(absl::string_view bytes);

struct Pkce {
  std::string verifier;   // 64 characters of [A-Za-z0-9-._~]
  std::string challenge;  // BASE64URL(SHA256(verifier))
};
Pkce MakePkce();
// The S256 challenge of a verifier (RFC 7636 4.2).
std::string PkceChallenge(absl::string_view verifier);
// 32 random bytes, base64url: an unguessable `state`.
std::string RandomState();

// Where a service's OAuth endpoints are and what it needs.
struct OAuthProfile {
  std::string kind;        // "dropbox"
  std::string service;     // "Dropbox", for messages
  std::string auth_url;    // authorization endpoint
  std::string token_url;   // token endpoint
  std::string device_url;  // device authorization endpoint; "" when none
  std::vector<std::string> scopes;
  // Extra authorization parameters the service needs to hand out a refresh
  // token (Dropbox token_access_type=offline, Google access_type=offline).
  std::vector<std::pair<std::string, std::string>> auth_params;
  // Where to register a client (docs and `dest connect` messages).
  std::string console_url;
};

// The profile of `kind` (dropbox, onedrive, gdrive, gphotos). INVALID_ARGUMENT for a
// kind without OAuth 2.0 (naming the kinds that have it).
absl::StatusOr<OAuthProfile> LookUpOAuthProfile(absl::string_view kind);
// Kinds with a profile: "dropbox, onedrive, gdrive, gphotos".
std::string OAuthKindNames();
// The profile with `auth_endpoint` (a destination setting; "" keeps the
// service's addresses) replacing the scheme://host[:port] of every OAuth URL
// and keeping the path, so a local test server serves the same paths.
OAuthProfile WithAuthEndpoint(OAuthProfile profile, absl::string_view auth_endpoint);

// The URL to open in a browser.
std::string AuthorizationUrl(const OAuthProfile& profile, const std::string& client_id,
                             const std::string& redirect_uri, const std::string& state,
                             const std::string& code_challenge);

struct TokenResponse {
  std::string access_token;
  std::string refresh_token;  // "" when the answer has none
  absl::Duration expires_in = absl::InfiniteDuration();
  std::string scope;
};

struct OAuthClient {
  std::string token_url;
  std::string client_id;
  std::string client_secret;  // "" for a public client
};

// Authorization code → tokens (with the PKCE verifier).
absl::StatusOr<TokenResponse> ExchangeCode(const Client& http, const OAuthClient& client,
                                           const std::string& code, const std::string& redirect_uri,
                                           const std::string& code_verifier);
// Refresh grant. `destination` names the destination in the invalid_grant
// message ("" → "NAME").
absl::StatusOr<TokenResponse> RefreshGrant(const Client& http, const OAuthClient& client,
                                           const std::string& refresh_token,
                                           const std::vector<std::string>& scopes,
                                           const std::string& destination);

struct DeviceAuthorization {
  std::string device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete{};  // "" when not given
  absl::Duration interval = absl::Seconds(5);
  absl::Duration expires_in = absl::Minutes(15);
};
absl::StatusOr<DeviceAuthorization> StartDeviceAuthorization(
    const Client& http, const std::string& device_url, const std::string& client_id,
    const std::vector<std::string>& scopes);
// Polls the token endpoint every `interval` (plus 5 s after each slow_down)
// until the user approves (tokens), denies (PERMISSION_DENIED) or the code
// expires (DEADLINE_EXCEEDED: "run `shoebox dest connect` again"). `sleep`
// is absl::SleepFor unless a test passes its own.
absl::StatusOr<TokenResponse> PollDeviceToken(
    const Client& http, const OAuthClient& client, const DeviceAuthorization& device,
    const std::function<void(absl::Duration)>& sleep = nullptr);

struct OAuthTokenSourceOptions {
  OAuthClient client{};
  std::string refresh_token{};
  std::vector<std::string> scopes{};  // empty: those the grant has
  std::string destination{};          // for messages
  // Called with a NEW refresh token the service returned (Microsoft rotates
  // them) before any access token of that answer is handed out. Its error
  // is AccessToken()'s error; the new token is kept and offered again on
  // the next call, so an account is never lost to a failed save.
  std::function<absl::Status(const std::string&)> on_rotated{};
  // The client used for the token endpoint (borrowed); null: one of its own.
  const Client* http = nullptr;
  std::function<absl::Time()> now{};  // tests; absl::Now by default
};

// Refresh-token based TokenSource. The access token lives in memory only;
// it is refreshed when it has expired or expires within a minute, by one
// thread at a time (the others wait for its answer). Thread-safe.
class OAuthTokenSource : public TokenSource {
 public:
  explicit OAuthTokenSource(OAuthTokenSourceOptions options);
  ~OAuthTokenSource() override;

  absl::StatusOr<std::string> AccessToken() override;
  void Invalidate(std::string_view token) override;

  // The refresh token in use (the newest the service returned).
  std::string refresh_token() const;
  // How many refresh grants were made (tests).
  int refreshes() const;

 private:
  absl::Time Now() const { return options_.now ? options_.now() : absl::Now(); }

  OAuthTokenSourceOptions options_;
  std::unique_ptr<Client> own_http_;
  const Client* http_;
  absl::Mutex refresh_mu_;  // held during a refresh: one at a time
  mutable absl::Mutex mu_;
  std::string refresh_token_ ABSL_GUARDED_BY(mu_);
  std::string access_token_ ABSL_GUARDED_BY(mu_);
  absl::Time expires_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool rotation_unsaved_ ABSL_GUARDED_BY(mu_) = false;
  int refreshes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shoebox::http
