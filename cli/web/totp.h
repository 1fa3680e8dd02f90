// TOTP (RFC 6238) for the web dashboard's second factor (docs/web.md): HMAC
// by OpenSSL (SHA-1, SHA-256, SHA-512), 30-second steps, 6 or 8 digits, a
// window of one step either side, and Base32 (RFC 4648) keys in an
// `otpauth://totp/...` URI for authenticator apps. Accounts use SHA-1, 6
// digits and 30 s (what every authenticator app supports).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace shoebox::cli::web {

enum class TotpHash { kSha1, kSha256, kSha512 };

inline constexpr int kTotpStepSeconds = 30;
inline constexpr int kTotpDigits = 6;
inline constexpr size_t kTotpSecretBytes = 20;  // 160 bits (RFC 4226's recommendation)

// HOTP (RFC 4226) of `counter`: the `digits`-digit code, zero-padded.
std::string Hotp(std::string_view key, uint64_t counter, int digits, TotpHash hash);
// floor(unix_seconds / 30).
int64_t TotpStep(int64_t unix_seconds);
// The code for the step containing `unix_seconds`.
std::string TotpCode(std::string_view key, int64_t unix_seconds, int digits = kTotpDigits,
                     TotpHash hash = TotpHash::kSha1);
// The step (now - 1, now or now + 1) whose code equals `code` (compared in
// constant time) and is newer than `last_step` (a step already used is never
// accepted again: a replayed code); nullopt otherwise, and for anything not
// exactly `digits` ASCII digits.
std::optional<int64_t> TotpMatch(std::string_view key, std::string_view code, int64_t unix_seconds,
                                 int64_t last_step, int digits = kTotpDigits,
                                 TotpHash hash = TotpHash::kSha1);

// RFC 4648 Base32, upper case, without padding.
std::string Base32Encode(std::string_view bytes);
// Accepts upper or lower case, spaces and '=' padding; INVALID_ARGUMENT
// naming the character otherwise.
absl::StatusOr<std::string> Base32Decode(std::string_view text);

// kTotpSecretBytes random bytes (OpenSSL RAND_bytes).
std::string NewTotpSecret();
// otpauth://totp/Shoebox:ACCOUNT?secret=...&issuer=Shoebox&algorithm=SHA1&digits=6&period=30
std::string TotpUri(std::string_view account, std::string_view secret);

}  // namespace shoebox::cli::web
