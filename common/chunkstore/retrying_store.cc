#include "common/chunkstore/retrying_store.h"

namespace shoebox {

RetryingChunkStore::RetryingChunkStore(std::unique_ptr<ChunkStore> inner, BackoffPolicy policy,
                                       std::function<void(absl::Duration)> sleep)
    : inner_(std::move(inner)), policy_(policy), sleep_(std::move(sleep)) {}

absl::Status RetryingChunkStore::Put(const ChunkId& id, std::string_view blob) {
  return Again([&] { return inner_->Put(id, blob); });
}

absl::Status RetryingChunkStore::PutAligned(const ChunkId& id, AlignedBytes& buf, size_t n) {
  return Again([&] { return inner_->PutAligned(id, buf, n); });
}

absl::StatusOr<std::string> RetryingChunkStore::Get(const ChunkId& id) {
  return Again([&] { return inner_->Get(id); });
}

absl::StatusOr<size_t> RetryingChunkStore::GetAligned(const ChunkId& id, AlignedBytes& buf) {
  return Again([&] { return inner_->GetAligned(id, buf); });
}

absl::StatusOr<bool> RetryingChunkStore::Has(const ChunkId& id) {
  return Again([&] { return inner_->Has(id); });
}

absl::Status RetryingChunkStore::Delete(const ChunkId& id) {
  return Again([&] { return inner_->Delete(id); });
}

absl::StatusOr<uint64_t> RetryingChunkStore::Stat(const ChunkId& id) {
  return Again([&] { return inner_->Stat(id); });
}

absl::Status RetryingChunkStore::List(const std::function<absl::Status(const ChunkId&)>& fn) {
  bool called = false;
  absl::Status after_callbacks;  // a failure that a retry would replay callbacks for
  absl::Status st = Again([&]() -> absl::Status {
    absl::Status s = inner_->List([&](const ChunkId& id) {
      called = true;
      return fn(id);
    });
    if (called && IsRetryable(s)) {
      after_callbacks = std::move(s);
      return absl::OkStatus();  // ends the retries
    }
    return s;
  });
  return after_callbacks.ok() ? st : after_callbacks;
}

absl::Status RetryingChunkStore::PutNamed(const std::string& name, std::string_view bytes) {
  return Again([&] { return inner_->PutNamed(name, bytes); });
}

absl::StatusOr<std::string> RetryingChunkStore::GetNamed(const std::string& name) {
  return Again([&] { return inner_->GetNamed(name); });
}

absl::Status RetryingChunkStore::DeleteNamed(const std::string& name) {
  return Again([&] { return inner_->DeleteNamed(name); });
}

absl::Status RetryingChunkStore::ListNamed(
    const std::string& prefix,
    const std::function<absl::Status(const std::string& name, uint64_t size)>& fn) {
  bool called = false;
  absl::Status after_callbacks;  // as in List
  absl::Status st = Again([&]() -> absl::Status {
    absl::Status s = inner_->ListNamed(prefix, [&](const std::string& name, uint64_t size) {
      called = true;
      return fn(name, size);
    });
    if (called && IsRetryable(s)) {
      after_callbacks = std::move(s);
      return absl::OkStatus();  // ends the retries
    }
    return s;
  });
  return after_callbacks.ok() ? st : after_callbacks;
}

}  // namespace shoebox
