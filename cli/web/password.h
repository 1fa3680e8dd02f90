// Web account passwords (docs/web.md): Argon2id (libargon2, RFC 9106) in
// its PHC string encoding, made and checked by the `shoebox web` process and
// the CLI; the coordinator stores the encoded hash and never sees a password.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace shoebox::cli::web {

// Argon2id cost: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended
// option); about a tenth of a second per check on a small server.
inline constexpr uint32_t kArgonMemoryKiB = 64 * 1024;
inline constexpr uint32_t kArgonPasses = 3;
inline constexpr uint32_t kArgonLanes = 1;
// Passwords shorter than this are refused when set (the generated ones are
// longer).
inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 1024;

// "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>" with a fresh 16-byte salt.
// INVALID_ARGUMENT when the password is shorter than kMinPasswordLength or
// longer than kMaxPasswordLength.
absl::StatusOr<std::string> HashPassword(std::string_view password);

// true when `password` matches `encoded`; false when it does not;
// INVALID_ARGUMENT when `encoded` is not an Argon2id PHC string.
absl::StatusOr<bool> VerifyPassword(const std::string& encoded, std::string_view password);

// A random password of 20 characters from an unambiguous alphabet (no 0/O,
// 1/l/I): about 110 bits.
std::string GeneratePassword();

}  // namespace shoebox::cli::web
