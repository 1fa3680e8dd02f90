// A ChunkStore that retries another one: every call that fails with a
// retryable status (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED; see
// common/retry.h) is called again with exponential backoff and full jitter,
// waiting at least as long as the server's Retry-After hint; a hint longer
// than the policy's max_delay returns the error at once, hint attached, for
// the caller to schedule.
//
// List and ListNamed are retried only while their callback has not been
// called yet (a retry would call it again for the same objects); after that
// the error is returned. Backends that list in pages retry the later pages
// themselves (common/s3/s3_client.h).
//
// Retries live here, written once, not in each backend: OpenS3ChunkStore
// wraps its store in one. Thread-safe when the wrapped store is.
#pragma once

#include <memory>
#include <string>

#include "common/chunkstore/chunkstore.h"
#include "common/retry.h"

namespace shoebox {

class RetryingChunkStore final : public ChunkStore {
 public:
  // `sleep` is injectable for tests.
  RetryingChunkStore(std::unique_ptr<ChunkStore> inner, BackoffPolicy policy,
                     std::function<void(absl::Duration)> sleep = absl::SleepFor);

  absl::Status Put(const ChunkId& id, std::string_view blob) override;
  absl::Status PutAligned(const ChunkId& id, AlignedBytes& buf, size_t n) override;
  absl::StatusOr<std::string> Get(const ChunkId& id) override;
  absl::StatusOr<size_t> GetAligned(const ChunkId& id, AlignedBytes& buf) override;
  absl::StatusOr<bool> Has(const ChunkId& id) override;
  absl::Status Delete(const ChunkId& id) override;
  absl::StatusOr<uint64_t> Stat(const ChunkId& id) override;
  absl::Status List(const std::function<absl::Status(const ChunkId&)>& fn) override;
  std::string Describe() const override { return inner_->Describe(); }

  absl::Status PutNamed(const std::string& name, std::string_view bytes) override;
  absl::StatusOr<std::string> GetNamed(const std::string& name) override;
  absl::Status DeleteNamed(const std::string& name) override;
  absl::Status ListNamed(
      const std::string& prefix,
      const std::function<absl::Status(const std::string& name, uint64_t size)>& fn) override;

  ChunkStore* inner() const { return inner_.get(); }

 private:
  template <typename Fn>
  auto Again(Fn&& fn) {
    return Retry(policy_, std::forward<Fn>(fn), sleep_);
  }

  const std::unique_ptr<ChunkStore> inner_;
  const BackoffPolicy policy_;
  const std::function<void(absl::Duration)> sleep_;
};

}  // namespace shoebox
