// Reading one file: FastCDC chunks, chunk IDs (HMAC-SHA256 under the chunk-ID
// key) and the whole-file SHA-256, in one pass over the content.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/index_format.h"
#include "common/chunker/fastcdc.h"
#include "common/crypto/hash.h"

namespace shoebox::agent {

// The keys and parameters the coordinator handed out in Hello.
struct SessionKeys {
  Key256 chunk_id_key{};
  Key256 chunker_key{};
  ChunkerParams params;

  std::string Serialize() const;  // for the state db (its directory is 0700)
  static absl::StatusOr<SessionKeys> Parse(std::string_view s);
  bool operator==(const SessionKeys& o) const {
    return chunk_id_key == o.chunk_id_key && chunker_key == o.chunker_key &&
           params.min_size == o.params.min_size && params.avg_size == o.params.avg_size &&
           params.max_size == o.params.max_size;
  }
};

// Precomputed per session: HMAC context and Gear table. Thread-safe.
class ChunkHasher {
 public:
  explicit ChunkHasher(const SessionKeys& keys);
  const SessionKeys& keys() const { return keys_; }
  const GearTable& gear() const { return gear_; }
  ChunkId Id(ByteSpan data) const { return mac_.Compute(data); }
  const HmacSha256& mac() const { return mac_; }

 private:
  const SessionKeys keys_;
  const GearTable gear_;
  const HmacSha256 mac_;
};

struct HashedFile {
  FileStat stat;  // as it was before and after the read
  Digest sha256{};
  std::vector<ChunkEntry> chunks;
};

// Opens `root`/`rel` without following a final symlink (paths longer than
// PATH_MAX are opened component by component). Errors name the path.
absl::StatusOr<int> OpenRelative(const std::string& root, const std::string& rel, int flags);

// stat of `root`/`rel` (lstat semantics unless follow is true).
absl::StatusOr<FileStat> StatRelative(const std::string& root, const std::string& rel,
                                      bool follow = false);
FileStat FromStat(const struct stat& st);

// Reads the file once. Outcomes:
//   OK                  content hashed; size/mtime/ctime were the same before
//                       and after the read
//   NOT_FOUND           it vanished
//   PERMISSION_DENIED   it cannot be read
//   ABORTED             it changed while it was read, or it is no longer a
//                       regular file (retry after it settles)
//   other               I/O errors
// `bytes_read` (may be null) is increased by every byte read from the file.
absl::StatusOr<HashedFile> HashFile(const std::string& root, const std::string& rel,
                                    const ChunkHasher& hasher, std::atomic<uint64_t>* bytes_read);

}  // namespace shoebox::agent
