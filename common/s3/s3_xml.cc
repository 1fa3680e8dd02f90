#include "common/s3/s3_xml.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace shoebox::s3 {

std::vector<absl::string_view> XmlBlocks(absl::string_view xml, absl::string_view tag) {
  std::vector<absl::string_view> out;
  std::string open = absl::StrCat("<", tag, ">");
  std::string close = absl::StrCat("</", tag, ">");
  size_t pos = 0;
  for (;;) {
    size_t a = xml.find(open, pos);
    if (a == absl::string_view::npos) break;
    a += open.size();
    size_t b = xml.find(close, a);
    if (b == absl::string_view::npos) break;
    out.push_back(xml.substr(a, b - a));
    pos = b + close.size();
  }
  return out;
}

std::string XmlText(absl::string_view xml, absl::string_view tag) {
  auto blocks = XmlBlocks(xml, tag);
  return blocks.empty() ? std::string() : XmlUnescape(blocks[0]);
}

}  // namespace shoebox::s3
