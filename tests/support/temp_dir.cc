#include "tests/support/temp_dir.h"

#include <stdlib.h>
#include <string.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace shoebox::testsupport {
namespace {

// mkdtemp on "/tmp/shoebox-<tag>-XXXXXX"; empty with `error` set on failure.
std::string MakeDir(const std::string& tag, std::string* error) {
  std::string tmpl = absl::StrCat("/tmp/shoebox-", tag, "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    *error = absl::StrCat("mkdtemp ", tmpl, ": ", strerror(errno));
    return "";
  }
  return tmpl;
}

std::string MakeOrAbort(const std::string& tag) {
  std::string error;
  std::string path = MakeDir(tag, &error);
  if (path.empty()) {
    std::fprintf(stderr, "test temp dir: %s (is /tmp writable and not full?)\n", error.c_str());
    std::abort();
  }
  return path;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Make(const std::string& tag) {
  std::string error;
  std::string path = MakeDir(tag, &error);
  if (path.empty()) return absl::InternalError(error);
  return std::unique_ptr<TempDir>(new TempDir(Adopt{}, std::move(path)));
}

TempDir::TempDir(const std::string& tag) : path_(MakeOrAbort(tag)) {}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace shoebox::testsupport
