// Path validation: whatever is accepted can never escape its root.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_split.h"
#include "common/paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string p(reinterpret_cast<const char*>(data), size);
  if (!shoebox::ValidateRelativePath(p, "path").ok()) return 0;
  if (p.empty() || p.front() == '/' || p.find('\0') != std::string::npos) abort();
  for (absl::string_view c : absl::StrSplit(p, '/')) {
    if (c.empty() || c == "." || c == ".." || c.size() > 255) abort();
  }
  return 0;
}
