// Escaping text for XML and reading it back: the one copy used by the S3
// client (common/s3) and the WebDAV connector.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace shoebox::http {

// The five named entities and numeric character references (as UTF-8).
std::string XmlUnescape(absl::string_view s);
// Escapes & < > " and ' for element text and attribute values.
std::string XmlEscape(absl::string_view s);

}  // namespace shoebox::http
