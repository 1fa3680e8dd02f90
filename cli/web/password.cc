#include "cli/web/password.h"

#include <argon2.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"

namespace shoebox::cli::web {

namespace {
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
}  // namespace

absl::StatusOr<std::string> HashPassword(std::string_view password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
    return absl::InvalidArgumentError(absl::StrCat("password: must be ", kMinPasswordLength, " to ",
                                                   kMaxPasswordLength, " characters long"));
  }
  uint8_t salt[kSaltBytes];
  SecureRandom(salt, sizeof salt);
  const size_t len = argon2_encodedlen(kArgonPasses, kArgonMemoryKiB, kArgonLanes, kSaltBytes,
                                       kHashBytes, Argon2_id);
  std::vector<char> encoded(len);
  const int rc = argon2id_hash_encoded(kArgonPasses, kArgonMemoryKiB, kArgonLanes, password.data(),
                                       password.size(), salt, sizeof salt, kHashBytes,
                                       encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return absl::InternalError(absl::StrCat("Argon2id hashing failed: ", argon2_error_message(rc),
                                            " (it needs ", kArgonMemoryKiB / 1024,
                                            " MiB of memory)"));
  }
  return std::string(encoded.data());
}

absl::StatusOr<bool> VerifyPassword(const std::string& encoded, std::string_view password) {
  if (encoded.rfind("$argon2id$", 0) != 0) {
    return absl::InvalidArgumentError(
        "the stored password hash is not Argon2id; set a new password with `shoebox web user "
        "passwd NAME`");
  }
  if (password.size() > kMaxPasswordLength) return false;
  const int rc = argon2id_verify(encoded.c_str(), password.data(), password.size());
  if (rc == ARGON2_OK) return true;
  if (rc == ARGON2_VERIFY_MISMATCH) return false;
  return absl::InvalidArgumentError(
      absl::StrCat("the stored password hash cannot be checked (", argon2_error_message(rc),
                   "); set a new password with `shoebox web user passwd NAME`"));
}

std::string GeneratePassword() {
  constexpr size_t n = sizeof kAlphabet - 1;
  std::string out;
  while (out.size() < 20) {
    uint8_t b[32];
    SecureRandom(b, sizeof b);
    for (uint8_t v : b) {
      // Rejection sampling: no bias toward the first letters.
      if (v >= 256 - 256 % n) continue;
      out.push_back(kAlphabet[v % n]);
      if (out.size() == 20) break;
    }
  }
  return out;
}

}  // namespace shoebox::cli::web
