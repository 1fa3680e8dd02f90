// Reads the regular files of an archive (.zip, .tar, .tgz / .tar.gz, ...;
// libarchive detects the format and compression from the content) in
// archive order, streaming: nothing is extracted to disk.
//
// Not thread-safe; one call at a time per reader.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace shoebox::takeout {

struct ArchiveFile {
  std::string path;  // as stored, '/'-separated, without a leading "./" or "/"
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// Hands an entry's content to `block` in pieces of at most `max_block` bytes.
class EntryContent {
 public:
  virtual ~EntryContent() = default;
  virtual absl::Status Read(size_t max_block,
                            const std::function<absl::Status(std::string_view)>& block) = 0;
};

// Calls `fn` for every regular file of `archive` (directories, links and
// devices are skipped); `fn` may read the content or not. A damaged or
// unreadable archive is DATA_LOSS / NOT_FOUND naming the file and the entry;
// an error of `fn` stops the walk and is returned.
absl::Status ForEachArchiveFile(
    const std::string& archive,
    const std::function<absl::Status(const ArchiveFile&, EntryContent&)>& fn);

}  // namespace shoebox::takeout
