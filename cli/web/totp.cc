#include "cli/web/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace shoebox::cli::web {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const EVP_MD* Md(TotpHash h) {
  switch (h) {
    case TotpHash::kSha256:
      return EVP_sha256();
    case TotpHash::kSha512:
      return EVP_sha512();
    case TotpHash::kSha1:
      break;
  }
  return EVP_sha1();
}

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UriEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string Hotp(std::string_view key, uint64_t counter, int digits, TotpHash hash) {
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(counter & 0xff);
    counter >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(Md(hash), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &len) ==
      nullptr) {
    std::abort();  // only on allocation failure inside OpenSSL
  }
  const int off = mac[len - 1] & 0x0f;
  const uint32_t bin = (static_cast<uint32_t>(mac[off] & 0x7f) << 24) |
                       (static_cast<uint32_t>(mac[off + 1]) << 16) |
                       (static_cast<uint32_t>(mac[off + 2]) << 8) | mac[off + 3];
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::string code = std::to_string(bin % mod);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

int64_t TotpStep(int64_t unix_seconds) {
  return unix_seconds >= 0 ? unix_seconds / kTotpStepSeconds
                           : -((-unix_seconds + kTotpStepSeconds - 1) / kTotpStepSeconds);
}

std::string TotpCode(std::string_view key, int64_t unix_seconds, int digits, TotpHash hash) {
  return Hotp(key, static_cast<uint64_t>(TotpStep(unix_seconds)), digits, hash);
}

std::optional<int64_t> TotpMatch(std::string_view key, std::string_view code, int64_t unix_seconds,
                                 int64_t last_step, int digits, TotpHash hash) {
  if (code.size() != static_cast<size_t>(digits)) return std::nullopt;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  const int64_t now = TotpStep(unix_seconds);
  std::optional<int64_t> found;
  // Every step of the window is computed and compared, matched or not: the
  // time taken does not tell which one matched.
  for (int64_t step = now - 1; step <= now + 1; ++step) {
    const std::string want = Hotp(key, static_cast<uint64_t>(step), digits, hash);
    if (CRYPTO_memcmp(want.data(), code.data(), want.size()) == 0 && step > last_step && !found) {
      found = step;
    }
  }
  return found;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

absl::StatusOr<std::string> Base32Decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == ' ' || c == '=' || c == '-') continue;
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a';
    } else if (c >= '2' && c <= '7') {
      v = c - '2' + 26;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "Base32 text has the character '", std::string(1, c), "': only A-Z and 2-7 are used"));
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string NewTotpSecret() {
  std::string s(kTotpSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1) {
    std::abort();  // no randomness: never hand out a predictable key
  }
  return s;
}

std::string TotpUri(std::string_view account, std::string_view secret) {
  return absl::StrCat(
      "otpauth://totp/Shoebox:", UriEscape(account), "?secret=", Base32Encode(secret),
      "&issuer=Shoebox&algorithm=SHA1&digits=", kTotpDigits, "&period=", kTotpStepSeconds);
}

}  // namespace shoebox::cli::web
