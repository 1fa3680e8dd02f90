// Downloads of the Browse page (issue 22, docs/web.md): one file version or a
// folder as a zip, streamed from the coordinator's chunks to the browser.
//
// Nothing here holds a whole file: a version is read one chunk at a time
// (one AdminService.ReadChunks call each), hashed as it passes, and written
// on at once, except that the last chunk of a single-file download is held
// back until the file's size and SHA-256 match the catalog, so a failed
// check never completes the download (the browser sees it fail). A zip
// entry that fails its check stops the zip before its central directory:
// the browser sees a failed download, never a zip with a wrong file in it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shoebox/v1/common.pb.h"

struct archive;  // libarchive

namespace shoebox::cli::web {

// The plaintext of one chunk (NOT_FOUND / DATA_LOSS / UNAVAILABLE naming it).
using ChunkReader = std::function<absl::StatusOr<std::string>(const std::string& id)>;
// Sends bytes on to the browser; an error (the browser went away) stops.
using ByteWriter = std::function<absl::Status(std::string_view)>;

// The most bytes the streaming code held at once (chunks read but not yet
// written on), for the tests that bound the server's memory.
struct StreamStats {
  uint64_t bytes_written = 0;
  uint64_t max_buffered = 0;
};

// A `Content-Disposition: attachment` value for a file named `raw_name` (raw
// bytes of a device's path component): an ASCII `filename="..."` fallback
// (quotes, backslashes, control and non-ASCII bytes become '_') and, when
// the name is not plain ASCII and is valid UTF-8, RFC 5987's
// `filename*=UTF-8''...` with every byte outside attr-char percent-encoded
// (RFC 6266 section 4.3: browsers prefer filename*).
std::string ContentDisposition(std::string_view raw_name);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsUtf8(std::string_view s);

// Writes version `v`'s bytes through `write`, holding back its last chunk
// until the size and SHA-256 of everything read equal the catalog's
// (DATA_LOSS naming `v`'s path otherwise, and the last chunk is never
// written). FAILED_PRECONDITION for a version whose chunks the chunk store
// dropped (restore it from a destination).
absl::Status StreamVersion(const shoebox::v1::FileVersion& v, const ChunkReader& read,
                           const ByteWriter& write, StreamStats* stats = nullptr);

// A zip archive written to `write` as it goes (libarchive's zip writer, no
// seeking, no blocking: every archive write goes straight out). Entries are
// stored (not compressed: photos and videos do not shrink) with ZIP64
// extensions when an entry or the archive passes 4 GiB. Not thread-safe.
class ZipStream {
 public:
  static absl::StatusOr<std::unique_ptr<ZipStream>> Open(ByteWriter write);
  ~ZipStream();

  // Adds `v` as `name` ('/'-separated, relative), its bytes checked as in
  // StreamVersion; on an error the archive is unusable (call nothing more).
  absl::Status Add(const std::string& name, const shoebox::v1::FileVersion& v,
                   const ChunkReader& read);
  // Writes the central directory. Call once, after the last Add.
  absl::Status Finish();

  const StreamStats& stats() const { return stats_; }

 private:
  explicit ZipStream(ByteWriter write) : write_(std::move(write)) {}
  friend struct ZipStreamAccess;

  ByteWriter write_;
  ::archive* a_ = nullptr;
  absl::Status write_error_;
  StreamStats stats_;
};

}  // namespace shoebox::cli::web
