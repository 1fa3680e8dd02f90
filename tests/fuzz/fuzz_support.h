// Shared by the request fuzz targets: protobuf parsing as the gRPC server
// does it, and the oracles every refusal and every accepted text field must
// satisfy. Failing an oracle aborts, which libFuzzer reports as a crash.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/stubs/logging.h"

namespace shoebox::fuzz {

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as protobuf
// requires of proto3 `string` fields.
inline bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

inline void Check(bool ok) {
  if (!ok) abort();
}

// A refusal of request validation: INVALID_ARGUMENT with a message that can
// travel in a proto3 string (FileResult.message, PutChunkAck.message) and
// in a log line (printable UTF-8, no NUL).
inline void CheckRefusal(const absl::Status& st) {
  Check(st.code() == absl::StatusCode::kInvalidArgument);
  const std::string m(st.message());
  Check(!m.empty());
  Check(IsUtf8(m));
  Check(m.find('\0') == std::string::npos);
}

// Parses like the gRPC server (ParseFromArray); false when protobuf refuses.
// An accepted message must serialize and parse back to the same message.
template <typename M>
bool Parse(const uint8_t* data, size_t size, M* m) {
  // protobuf logs every refused string field; at fuzzing rates that is
  // most of the run time.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    return true;
  }();
  (void)quiet;
  if (!m->ParseFromArray(data, static_cast<int>(size))) return false;
  std::string once = m->SerializeAsString();
  M again;
  Check(again.ParseFromString(once));
  Check(again.SerializeAsString() == once);
  return true;
}

// Text that reaches a PostgreSQL text column: valid UTF-8 without NUL.
inline void CheckDbText(std::string_view s) {
  Check(IsUtf8(s));
  Check(s.find('\0') == std::string_view::npos);
}

}  // namespace shoebox::fuzz
