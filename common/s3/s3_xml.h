// The little XML that S3 answers with (error bodies, ListObjectsV2,
// multipart uploads): flat, namespace-free, parsed by tag search.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/http/xml_text.h"

namespace shoebox::s3 {

// First inner text of <tag>, unescaped; "" when absent.
std::string XmlText(absl::string_view xml, absl::string_view tag);
// Inner text of every <tag>...</tag> block, in order (not unescaped).
std::vector<absl::string_view> XmlBlocks(absl::string_view xml, absl::string_view tag);
using http::XmlEscape;
using http::XmlUnescape;

}  // namespace shoebox::s3
