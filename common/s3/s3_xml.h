// The little XML that S3 answers with (error bodies, ListObjectsV2,
// multipart uploads): flat, namespace-free, parsed by tag search.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace shoebox::s3 {

// First inner text of <tag>, unescaped; "" when absent.
std::string XmlText(absl::string_view xml, absl::string_view tag);
// Inner text of every <tag>...</tag> block, in order (not unescaped).
std::vector<absl::string_view> XmlBlocks(absl::string_view xml, absl::string_view tag);
// The five named entities and numeric character references (as UTF-8).
std::string XmlUnescape(absl::string_view s);
std::string XmlEscape(absl::string_view s);

}  // namespace shoebox::s3
