#include "common/bytes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hex_digit.h"

namespace shoebox {

std::string ToHex(ByteSpan b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(b.size() * 2, '\0');
  for (size_t i = 0; i < b.size(); ++i) {
    out[2 * i] = kDigits[b[i] >> 4];
    out[2 * i + 1] = kDigits[b[i] & 0xf];
  }
  return out;
}

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has odd length ", hex.size(), "; expected pairs of hex digits"));
  }
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigitValue(hex[2 * i]);
    int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hex string has a non-hex character at offset ", hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

namespace {

// Length of the valid UTF-8 sequence at p[i] (1..4) and its code point, or 0
// when the bytes there are not one.
size_t Utf8SeqAt(const unsigned char* p, size_t n, size_t i, uint32_t* cp_out) {
  const unsigned char c = p[i];
  if (c < 0x80) {
    *cp_out = c;
    return 1;
  }
  size_t len = 0;
  uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  }
  if (len == 0 || i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[i + k] & 0x3f);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
    return 0;
  }
  *cp_out = cp;
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  uint32_t cp = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SeqAt(p, s.size(), i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string Utf8Text(std::string_view raw) {
  if (IsValidUtf8(raw)) return std::string(raw);
  std::string out;
  out.reserve(raw.size() + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  uint32_t cp = 0;
  for (size_t i = 0; i < raw.size();) {
    const size_t len = Utf8SeqAt(p, raw.size(), i, &cp);
    if (len == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", p[i]);
      ++i;
    } else {
      out.append(raw.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string_view Utf8Prefix(std::string_view s, size_t limit) {
  if (s.size() <= limit) return s;
  size_t n = limit;
  // Back off over continuation bytes (10xxxxxx) to the start of the
  // character that the limit cuts.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string PrintablePath(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  size_t n = raw.size();
  size_t i = 0;
  auto escape = [&](unsigned char c) { absl::StrAppendFormat(&out, "\\x%02x", c); };
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f || c == '\\') {
        escape(c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = Utf8SeqAt(p, n, i, &cp);
    const bool ok = len > 0;
    // Code points a terminal obeys or that reorder the text shown: the C1
    // controls (U+0080..U+009F, U+009B is CSI) and the bidi embeddings,
    // overrides and isolates (U+202A..U+202E, U+2066..U+2069).
    if (ok && ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069))) {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
      i += len;
    } else if (ok) {
      out.append(raw.substr(i, len));
      i += len;
    } else {
      escape(c);
      ++i;
    }
  }
  return out;
}

}  // namespace shoebox
