#include "common/paths.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace shoebox {

namespace {
constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxComponent = 255;

absl::Status Bad(std::string_view field, std::string_view path, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(field), " '", PrintablePath(path),
                                                 "' is not a valid path: ", AbslView(why)));
}
}  // namespace

absl::Status ValidateRelativePath(std::string_view path, std::string_view field) {
  if (path.empty()) return Bad(field, path, "it is empty");
  if (path.size() > kMaxPath) {
    return Bad(field, path.substr(0, 64),
               absl::StrCat("it is ", path.size(), " bytes long (at most ", kMaxPath, ")"));
  }
  if (path.find('\0') != std::string_view::npos) return Bad(field, path, "it contains a NUL byte");
  if (path.front() == '/') return Bad(field, path, "it must be relative (no leading '/')");
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view comp = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (comp.empty()) return Bad(field, path, "it has an empty component ('//' or a trailing '/')");
    if (comp == ".") return Bad(field, path, "it has a '.' component");
    if (comp == "..") return Bad(field, path, "it has a '..' component");
    if (comp.size() > kMaxComponent) {
      return Bad(field, path,
                 absl::StrCat("a component is ", comp.size(), " bytes long (at most ",
                              kMaxComponent, ")"));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return absl::OkStatus();
}

absl::Status ValidateAbsolutePath(std::string_view path, std::string_view field) {
  if (path.empty() || path.front() != '/')
    return Bad(field, path, "it must be absolute (start with '/')");
  if (path.size() > kMaxPath) {
    return Bad(field, path.substr(0, 64),
               absl::StrCat("it is ", path.size(), " bytes long (at most ", kMaxPath, ")"));
  }
  if (path.find('\0') != std::string_view::npos) return Bad(field, path, "it contains a NUL byte");
  return absl::OkStatus();
}

}  // namespace shoebox
