// Restore of catalog versions into a directory. Used by `shoebox restore`.
//
// Each file is written to a temp name in its target directory, checked
// against the catalog's SHA-256 while it is written, made durable, given its
// mtime and mode, then renamed into place. Files up to 8 MiB go in batches
// (256 files or 64 MiB): one chunk stream and one syncfs() for the batch
// instead of a stream and two fsyncs per file; a batch with any error is
// undone and its files restored one by one, each failure reported for its
// file. Larger files go on their own with fsync. A file already present with the right
// size and SHA-256 is skipped, so an interrupted restore run again finishes
// the rest. An existing different file is replaced only with `overwrite`.
// Paths that are absolute, contain "..", or would pass through a symlink
// out of the target are refused.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shoebox/v1/common.pb.h"

namespace shoebox::cli {

// Delivers the plaintext of `ids`, in order, through `sink`. An error
// (NOT_FOUND / DATA_LOSS naming the chunk) stops the file.
class ChunkFetcher {
 public:
  virtual ~ChunkFetcher() = default;
  virtual absl::Status Fetch(
      const std::vector<std::string>& ids,
      const std::function<absl::Status(const std::string& id, const std::string& data)>& sink) = 0;
};

struct RestoreOptions {
  std::string target_dir;
  bool overwrite = false;
  // Put each file under <target>/<basename of its folder root>/<path>
  // (whole-device restores); otherwise <target>/<path>.
  bool prefix_folder = false;
  bool progress = true;
};

struct RestoreFailure {
  std::string path;  // printable
  std::string error;
  // A different file is in place and --overwrite was not given: running the
  // same command again changes nothing.
  bool conflict = false;
};

struct RestoreReport {
  uint64_t files_restored = 0;
  uint64_t files_skipped = 0;  // already present and identical
  uint64_t bytes_restored = 0;
  std::vector<RestoreFailure> failures;
};

// Where a version lands under the target (validated; INVALID_ARGUMENT for a
// path that could escape).
absl::StatusOr<std::string> RestoreTargetPath(const v1::FileVersion& v, const RestoreOptions& o);

// What to do about the failures of `r`, one line; "" when there are none.
// Conflicts need --overwrite (or another --to); other failures (chunk not
// readable, disk full, ...) are retried by running the same command again,
// which skips the files already restored.
std::string RestoreAdvice(const RestoreReport& r);

absl::StatusOr<RestoreReport> RestoreVersions(const std::vector<v1::FileVersion>& versions,
                                              ChunkFetcher* fetcher, const RestoreOptions& o);

}  // namespace shoebox::cli
