// Where an HTTP connector of an OAuth 2.0 service (Dropbox, OneDrive, Google
// Drive, the photo services) gets its bearer token. The worker's
// implementation (common/http/oauth.h) refreshes with the destination's
// refresh token; tests may use StaticTokenSource.
//
//   ASSIGN_OR_RETURN(std::string token, tokens->AccessToken());
//   r.headers.push_back("Authorization: Bearer " + token);
//   ... if (resp.status == 401) { tokens->Invalidate(token); retry once; }
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace shoebox::http {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A usable access token: the cached one, or a new one when it has expired
  // or expires within a minute. UNAUTHENTICATED when the service refuses the
  // refresh token (the message says to reconnect the destination);
  // UNAVAILABLE / RESOURCE_EXHAUSTED (with a Retry-After hint) when the token
  // endpoint cannot be reached or throttles.
  virtual absl::StatusOr<std::string> AccessToken() = 0;
  // The service answered 401 to a request made with `token`: the next
  // AccessToken() fetches a new one (unless another thread already did).
  virtual void Invalidate(std::string_view token) = 0;
};

// A fixed token (tests, and services whose tokens do not expire). After
// Invalidate, AccessToken() is UNAUTHENTICATED: a refused fixed token cannot
// be renewed.
class StaticTokenSource : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> AccessToken() override {
    absl::MutexLock lock(&mu_);
    if (invalid_) {
      return absl::UnauthenticatedError("the access token was refused and cannot be renewed");
    }
    return token_;
  }
  void Invalidate(std::string_view token) override {
    absl::MutexLock lock(&mu_);
    if (token == token_) invalid_ = true;
  }

 private:
  absl::Mutex mu_;
  const std::string token_;
  bool invalid_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace shoebox::http
