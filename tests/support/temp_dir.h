// The one temporary-directory helper of the tests: a directory under /tmp,
// removed recursively by the destructor. Used by the integration tests, the
// server handles in servers.h, the coordinator harness and the components'
// unit tests (agent/test_util.h).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox::testsupport {

class TempDir {
 public:
  // Creates "/tmp/shoebox-<tag>-XXXXXX". INTERNAL when mkdtemp fails.
  static absl::StatusOr<std::unique_ptr<TempDir>> Make(const std::string& tag);
  // The same for tests that hold one by value; a test cannot go on without
  // its directory, so a failing mkdtemp aborts with a message on stderr.
  explicit TempDir(const std::string& tag = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  struct Adopt {};
  TempDir(Adopt, std::string path) : path_(std::move(path)) {}
  const std::string path_;
};

}  // namespace shoebox::testsupport
