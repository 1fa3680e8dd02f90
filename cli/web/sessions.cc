#include "cli/web/sessions.h"

#include <openssl/crypto.h>

#include "common/bytes.h"
#include "common/crypto/hash.h"

namespace shoebox::cli::web {

std::string RandomToken() {
  uint8_t b[32];
  SecureRandom(b, sizeof b);
  return ToHex(ByteSpan(b, sizeof b));
}

Session SessionStore::Create(const std::string& account, const std::string& role,
                             const std::vector<std::string>& devices) {
  Session s;
  s.id = RandomToken();
  s.csrf = RandomToken();
  s.account = account;
  s.role = role;
  s.devices = devices;
  s.created = s.last_used = now_();
  absl::MutexLock lock(&mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = Expired(it->second, s.created) ? sessions_.erase(it) : std::next(it);
  }
  while (sessions_.size() >= max_ && !sessions_.empty()) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    sessions_.erase(oldest);
  }
  sessions_[s.id] = s;
  return s;
}

std::optional<Session> SessionStore::Find(std::string_view id) {
  if (id.size() != 64) return std::nullopt;
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

bool SessionStore::Remove(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  sessions_.erase(it);
  return true;
}

size_t SessionStore::RemoveAccount(std::string_view account) {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.account == account) {
      it = sessions_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

size_t SessionStore::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

bool SessionStore::CsrfMatches(const Session& s, std::string_view header_value) {
  if (header_value.empty() || header_value.size() != s.csrf.size()) return false;
  return CRYPTO_memcmp(header_value.data(), s.csrf.data(), s.csrf.size()) == 0;
}

}  // namespace shoebox::cli::web
