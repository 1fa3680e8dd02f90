#include "workers/chunk_source.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace shoebox::worker {
namespace {

class StoreFetcher final : public ChunkFetcher {
 public:
  explicit StoreFetcher(SealedChunkStore* store) : store_(store) {}
  absl::StatusOr<std::string> GetPlain(const ChunkId& id) override { return store_->GetPlain(id); }
  absl::StatusOr<std::string> GetNamed(const std::string& name) override {
    return store_->store()->GetNamed(name);
  }

 private:
  SealedChunkStore* const store_;
};

std::string IdHex(const ChunkId& id) { return ToHex(ByteSpan(id.data(), id.size())); }

// The chunk store (or the coordinator) refusing the worker is not the
// destination refusing an object or its credentials (workers/connector.h):
// keep it from failing the job for good or holding the destination; the job
// is retried with backoff while the worker's access is fixed.
absl::Status NotTheDestinations(const absl::Status& st, const ChunkId& id) {
  if (st.code() != absl::StatusCode::kPermissionDenied &&
      st.code() != absl::StatusCode::kUnauthenticated) {
    return st;
  }
  return absl::UnavailableError(
      absl::StrCat("reading chunk ", IdHex(id), " was refused: ", st.message(),
                   "; this is the worker's access to the chunk store (worker.chunk_store and its "
                   "credentials), not the destination's; will retry"));
}

}  // namespace

std::unique_ptr<ChunkFetcher> MakeStoreFetcher(SealedChunkStore* store) {
  return std::make_unique<StoreFetcher>(store);
}

ChunkSource::ChunkSource(ChunkFetcher* fetcher, std::vector<ChunkSpan> chunks, uint64_t size,
                         std::string sha256)
    : fetcher_(fetcher), chunks_(std::move(chunks)), size_(size), sha256_(std::move(sha256)) {
  uint64_t off = 0;
  for (const ChunkSpan& c : chunks_) {
    starts_.push_back(off);
    off += c.size;
  }
}

ChunkSource::~ChunkSource() {
  for (auto& a : ahead_) a.second.wait();
}

absl::Status ChunkSource::Load(size_t index) {
  absl::StatusOr<std::string> plain;
  if (!ahead_.empty() && ahead_.front().first == index) {
    plain = ahead_.front().second.get();
    ahead_.pop_front();
  } else {
    for (auto& a : ahead_) a.second.wait();  // a seek: what was fetched ahead is not needed
    ahead_.clear();
    plain = fetcher_->GetPlain(chunks_[index].id);
  }
  if (!plain.ok()) return NotTheDestinations(plain.status(), chunks_[index].id);
  if (plain->size() != chunks_[index].size) {
    return absl::DataLossError(absl::StrCat(
        "chunk ", IdHex(chunks_[index].id), " has ", plain->size(), " bytes, the catalog says ",
        chunks_[index].size, "; run a scrub of the chunk store"));
  }
  fetched_ += plain->size();
  cur_ = std::move(*plain);
  cur_index_ = index;
  // The next chunks are fetched (read, decrypted, verified) in parallel
  // while this one is written: one fetch at a time left a single delivery
  // waiting on each chunk's read in turn.
  size_t next = ahead_.empty() ? index + 1 : ahead_.back().first + 1;
  while (ahead_.size() < kAhead && next < chunks_.size()) {
    ChunkFetcher* f = fetcher_;
    ChunkId id = chunks_[next].id;
    ahead_.emplace_back(next, std::async(std::launch::async, [f, id] { return f->GetPlain(id); }));
    ++next;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ChunkSource::Read(uint8_t* buf, size_t max) {
  if (pos_ >= size_ || max == 0) return size_t{0};
  // Locate the chunk holding pos_.
  size_t idx = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), pos_) -
                                   starts_.begin()) -
               1;
  if (idx >= chunks_.size() || pos_ >= starts_[idx] + chunks_[idx].size) {
    return absl::DataLossError(
        absl::StrCat("the chunk list covers fewer bytes than the file size ", size_));
  }
  if (idx != cur_index_) RETURN_IF_ERROR(Load(idx));
  uint64_t in_chunk = pos_ - starts_[idx];
  size_t n = static_cast<size_t>(std::min<uint64_t>({max, cur_.size() - in_chunk, size_ - pos_}));
  if (hash_valid_ && hashed_ == pos_) {
    hash_.Update(std::string_view(cur_.data() + in_chunk, n));
    hashed_ += n;
    if (hashed_ == size_) {
      Digest d = hash_.Final();
      if (DigestToString(d) != sha256_) {
        return absl::DataLossError(absl::StrCat(
            "the file's content does not match its SHA-256 (expected ", ToHex(sha256_), ", got ",
            ToHex(ByteSpan(d.data(), d.size())), "); the upload was abandoned; run a scrub"));
      }
    }
  }
  std::memcpy(buf, cur_.data() + in_chunk, n);
  pos_ += n;
  return n;
}

absl::Status ChunkSource::Seek(uint64_t offset) {
  if (offset > size_)
    return absl::OutOfRangeError(absl::StrCat("seek to ", offset, " past ", size_));
  pos_ = offset;
  if (offset == 0) {
    hash_.Final();  // reset
    hashed_ = 0;
    hash_valid_ = true;
  } else if (offset != hashed_) {
    hash_valid_ = false;  // a resumed upload: the connector's own check applies
  }
  return absl::OkStatus();
}

}  // namespace shoebox::worker
