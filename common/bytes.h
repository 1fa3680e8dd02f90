// Small byte-string helpers.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shoebox {

using ByteSpan = std::span<const uint8_t>;

// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view) and neither converts to the other implicitly. Use these
// at the boundary, e.g. absl::StrCat(AbslView(sv), ...).
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view StdView(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsView(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string ToHex(ByteSpan b);
inline std::string ToHex(std::string_view s) { return ToHex(AsBytes(s)); }
absl::StatusOr<std::string> FromHex(std::string_view hex);

// Text someone else chose (a path in raw bytes, possibly non-UTF-8; a device
// or host name; an error text a worker or device sent) made safe for a
// terminal and a log line: printable ASCII and valid UTF-8 as is; control
// bytes (ESC, CR, LF, TAB, DEL, ...), backslash and invalid UTF-8 as \xNN;
// C1 controls and bidi overrides/isolates as \uNNNN. The one escape helper:
// CLI output and log lines that carry device-chosen text use it (issue 17).
std::string PrintablePath(std::string_view raw);

// True when `s` is valid UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// A text for people (an error, a reason, a host name) made valid UTF-8 so a
// UTF-8 database column and JSON can hold it: valid UTF-8 is kept as is
// (controls too: printing escapes them later), each byte of an invalid
// sequence becomes \xNN (issue 18).
std::string Utf8Text(std::string_view raw);

// At most `limit` bytes of the valid UTF-8 text `s`, cut before a character
// that would be split.
std::string_view Utf8Prefix(std::string_view s, size_t limit);

}  // namespace shoebox
