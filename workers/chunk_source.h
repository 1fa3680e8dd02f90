// A ByteSource over a file version's chunks: fetches each chunk (directly
// from the chunk store, or through the coordinator), opens and verifies it,
// and streams the plaintext, holding at most four chunks (the current one and
// the next three, fetched in parallel). The whole-file SHA-256 is checked as the bytes pass:
// the read that reaches the end fails with DATA_LOSS instead of returning the
// last bytes when it does not match, so a connector never completes an upload
// of wrong content.
#pragma once

#include <deque>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "workers/connector.h"

namespace shoebox::worker {

// Plaintext of one chunk, verified (DATA_LOSS on corruption, NOT_FOUND when
// missing). Thread-safe.
class ChunkFetcher {
 public:
  virtual ~ChunkFetcher() = default;
  virtual absl::StatusOr<std::string> GetPlain(const ChunkId& id) = 0;
  // A chunk-store named object as stored (catalog snapshots, already sealed).
  // Only a worker with direct chunk-store access has them.
  virtual absl::StatusOr<std::string> GetNamed(const std::string& name) {
    return absl::FailedPreconditionError(
        "object " + name +
        " is only readable with direct chunk-store access; set worker.chunk_store to the "
        "chunk store location (not via-coordinator) on workers serving plain-file destinations");
  }
};

// Over a SealedChunkStore (not owned).
std::unique_ptr<ChunkFetcher> MakeStoreFetcher(SealedChunkStore* store);

struct ChunkSpan {
  ChunkId id;
  uint32_t size = 0;
};

class ChunkSource final : public ByteSource {
 public:
  // `sha256`: 32 raw bytes, the expected whole-file hash. `fetcher` borrowed.
  ChunkSource(ChunkFetcher* fetcher, std::vector<ChunkSpan> chunks, uint64_t size,
              std::string sha256);
  ~ChunkSource() override;
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override;
  absl::Status Seek(uint64_t offset) override;
  uint64_t size() const override { return size_; }
  // Total plaintext bytes fetched (for metrics).
  uint64_t bytes_fetched() const { return fetched_; }

 private:
  absl::Status Load(size_t index);

  ChunkFetcher* const fetcher_;
  const std::vector<ChunkSpan> chunks_;
  std::vector<uint64_t> starts_;  // start offset of each chunk
  const uint64_t size_;
  const std::string sha256_;
  uint64_t pos_ = 0;
  size_t cur_index_ = SIZE_MAX;
  std::string cur_;
  // Chunks being fetched ahead of the one in cur_, in order: (index, fetch).
  static constexpr size_t kAhead = 3;
  std::deque<std::pair<size_t, std::future<absl::StatusOr<std::string>>>> ahead_;
  Sha256 hash_;
  uint64_t hashed_ = 0;  // bytes hashed contiguously from 0
  bool hash_valid_ = true;
  uint64_t fetched_ = 0;
};

}  // namespace shoebox::worker
