// Pull-style sources of bytes for uploads, so whole videos are never held in
// memory. The HTTP client reads request bodies from one; the destination
// connectors take one per file (workers/connector.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox::http {

// Read() fills up to `max` bytes into `buf` and returns how many; 0 at the
// end. Rewind() restarts from offset 0 (for retries) and Seek() from a given
// offset (for resuming); both may be called at any time. Not thread-safe:
// one reader at a time.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) = 0;
  virtual absl::Status Seek(uint64_t offset) = 0;
  absl::Status Rewind() { return Seek(0); }
  virtual uint64_t size() const = 0;
};

// In-memory source (tests, small files).
std::unique_ptr<ByteSource> MakeStringSource(std::string data);

// A source over a file on disk (size fixed at open). NOT_FOUND etc. from
// open(2); a file that shrinks while read is DATA_LOSS.
absl::StatusOr<std::unique_ptr<ByteSource>> MakeFileSource(const std::string& path);

// Reads exactly `n` bytes from `src` into `out` (resized). DATA_LOSS naming
// `what` when the source ends early.
absl::Status ReadExactly(ByteSource* src, uint64_t n, std::string* out, const std::string& what);

}  // namespace shoebox::http
