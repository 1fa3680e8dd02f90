// Log-in sessions of the web dashboard (docs/web.md), held in the memory of
// the `shoebox web` process: a restart logs everyone out. A session id is 32
// random bytes (64 hex characters) sent only in an `HttpOnly; Secure;
// SameSite=Strict` cookie; each session has its own CSRF token (32 random
// bytes) that every POST/PUT/DELETE must carry in the X-CSRF-Token header.
// A session ends after `idle` without a request, after `absolute` in any
// case, at log-out, and when its account's password changes. Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shoebox::cli::web {

struct Session {
  std::string id;    // 64 lower-case hex characters
  std::string csrf;  // 64 lower-case hex characters
  std::string account;
  std::string role;                  // "admin" | "member"
  std::vector<std::string> devices;  // a member's devices
  absl::Time created;
  absl::Time last_used;
};

class SessionStore {
 public:
  // `now` is the clock (tests move it). At most `max_sessions` live at once:
  // past it the least recently used goes first.
  SessionStore(absl::Duration idle, absl::Duration absolute, size_t max_sessions = 10000,
               absl::Time (*now)() = absl::Now)
      : idle_(idle), absolute_(absolute), max_(max_sessions), now_(now) {}

  // A new session with fresh random id and CSRF token.
  Session Create(const std::string& account, const std::string& role,
                 const std::vector<std::string>& devices);
  // The live session `id` (its last use set to now), or nullopt when there is
  // none or it expired (then it is removed).
  std::optional<Session> Find(std::string_view id);
  // Ends one session (log-out); false when there was none.
  bool Remove(std::string_view id);
  // Ends every session of `account` (its password changed); returns how many.
  size_t RemoveAccount(std::string_view account);
  size_t size() const;

  // The request's X-CSRF-Token header value against the session's token, in
  // constant time; false when empty or of another length.
  static bool CsrfMatches(const Session& s, std::string_view header_value);

 private:
  bool Expired(const Session& s, absl::Time now) const {
    return now - s.last_used > idle_ || now - s.created > absolute_;
  }
  const absl::Duration idle_;
  const absl::Duration absolute_;
  const size_t max_;
  absl::Time (*const now_)();
  mutable absl::Mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_ ABSL_GUARDED_BY(mu_);
};

// 32 random bytes as 64 lower-case hex characters.
std::string RandomToken();

}  // namespace shoebox::cli::web
