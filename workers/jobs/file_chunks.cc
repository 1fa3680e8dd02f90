#include "workers/jobs/file_chunks.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace shoebox::worker {

absl::Status CheckChunkList(const v1::FileVersion& f) {
  uint64_t total = 0;
  for (const auto& c : f.chunks()) {
    if (c.id().size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("file version ", f.version_id(), ": a chunk ID is not 32 bytes"));
    }
    total += c.size();
  }
  if (total != f.size()) {
    return absl::InvalidArgumentError(absl::StrCat("file version ", f.version_id(),
                                                   ": chunks add up to ", total,
                                                   " bytes, the file has ", f.size()));
  }
  if (f.sha256().size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("file version ", f.version_id(), ": no SHA-256"));
  }
  return absl::OkStatus();
}

std::vector<ChunkSpan> ChunkSpans(const v1::FileVersion& f) {
  std::vector<ChunkSpan> out;
  out.reserve(static_cast<size_t>(f.chunks_size()));
  for (const auto& c : f.chunks()) {
    ChunkSpan s;
    DigestFromString(c.id(), &s.id);
    s.size = c.size();
    out.push_back(s);
  }
  return out;
}

}  // namespace shoebox::worker
