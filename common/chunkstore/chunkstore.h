// The chunk store: content-addressed, one object per chunk. Objects are the
// sealed blobs of common/crypto/blob.h; the store itself does not know keys.
//
// Contract shared by every backend (tests/support/chunkstore_conformance.h
// checks it):
// - Put is durable when it returns OK (fsync / 200 from S3), atomic (a reader
//   sees the whole object or NOT_FOUND, never a prefix) and idempotent; two
//   concurrent Puts of the same ID both succeed and leave one object.
// - Get of a missing ID is NOT_FOUND naming the chunk.
// - A full disk / quota is RESOURCE_EXHAUSTED and leaves nothing visible.
// - Transient backend trouble is UNAVAILABLE (retry); refused credentials are
//   PERMISSION_DENIED.
// - All methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <cstring>

#include "absl/status/statusor.h"
#include "common/crypto/blob.h"
#include "common/crypto/hash.h"
#include "common/status.h"

namespace shoebox {

class ChunkStore {
 public:
  virtual ~ChunkStore() = default;
  virtual absl::Status Put(const ChunkId& id, std::string_view blob) = 0;
  // Put of the first `n` bytes of `buf`; the directory backend writes them
  // in place with O_DIRECT (no copy), using buf's spare capacity for padding.
  virtual absl::Status PutAligned(const ChunkId& id, AlignedBytes& buf, size_t n) {
    return Put(id, std::string_view(reinterpret_cast<const char*>(buf.data()), n));
  }
  virtual absl::StatusOr<std::string> Get(const ChunkId& id) = 0;
  // Get into `buf`, returning the blob's size; the directory backend reads
  // it there with O_DIRECT (no copy).
  virtual absl::StatusOr<size_t> GetAligned(const ChunkId& id, AlignedBytes& buf) {
    ASSIGN_OR_RETURN(std::string blob, Get(id));
    uint8_t* p = buf.Reserve(blob.size());
    if (p == nullptr) return absl::ResourceExhaustedError("out of memory reading a chunk");
    std::memcpy(p, blob.data(), blob.size());
    return blob.size();
  }
  // Group commit (docs/formats.md, "Batched durability"). StagePutAligned
  // writes a chunk where no reader sees it and nothing is durable yet;
  // CommitPuts then makes a whole batch durable and visible at once, so the
  // directory backend syncs twice per batch instead of two fsyncs per chunk.
  // A chunk is durable (and may be referenced by the catalog) only when
  // CommitPuts of its batch returned OK; until then a crash may lose it.
  // AbandonPuts discards staged chunks that will not be committed. Backends
  // without a cheaper batch (S3: a PUT is durable when it returns) store at
  // StagePutAligned and have nothing to do in CommitPuts.
  struct StagedPut {
    ChunkId id{};
    std::string temp;  // the backend's temp name; empty when already stored
  };
  virtual absl::StatusOr<StagedPut> StagePutAligned(const ChunkId& id, AlignedBytes& buf,
                                                    size_t n) {
    RETURN_IF_ERROR(PutAligned(id, buf, n));
    return StagedPut{id, {}};
  }
  virtual absl::Status CommitPuts(const std::vector<StagedPut>& puts) {
    (void)puts;
    return absl::OkStatus();
  }
  virtual void AbandonPuts(const std::vector<StagedPut>& puts) { (void)puts; }

  // OK true/false; an error only when the backend cannot answer.
  virtual absl::StatusOr<bool> Has(const ChunkId& id) = 0;
  // Deleting a missing ID is not an error.
  virtual absl::Status Delete(const ChunkId& id) = 0;
  // Stored size in bytes; NOT_FOUND when missing.
  virtual absl::StatusOr<uint64_t> Stat(const ChunkId& id) = 0;
  // Calls `fn` for every stored ID (any order). Stops early, returning the
  // callback's status, when it returns an error.
  virtual absl::Status List(const std::function<absl::Status(const ChunkId&)>& fn) = 0;
  // Human-readable location for logs ("dir:/var/lib/shoebox/chunks").
  virtual std::string Describe() const = 0;

  // Named objects: a few files that are not chunks (catalog snapshots), kept
  // apart from the chunks (dir: <root>/meta/<name>, S3: <prefix>meta/<name>)
  // so List never sees them. Names pass ValidateObjectName ("catalog/x.snap").
  // PutNamed has Put's guarantees (durable, atomic) and replaces an existing
  // object; GetNamed of a missing name is NOT_FOUND naming it; deleting a
  // missing name is not an error. ListNamed calls `fn` for every name that
  // starts with `prefix` (any order) with its stored size. Backends that do
  // not keep named objects return UNIMPLEMENTED.
  virtual absl::Status PutNamed(const std::string& name, std::string_view bytes);
  virtual absl::StatusOr<std::string> GetNamed(const std::string& name);
  virtual absl::Status DeleteNamed(const std::string& name);
  virtual absl::Status ListNamed(
      const std::string& prefix,
      const std::function<absl::Status(const std::string& name, uint64_t size)>& fn);
};

// A named-object name: 1..200 bytes of components [A-Za-z0-9._-] joined by
// '/', no component empty or starting with '.'. INVALID_ARGUMENT otherwise.
absl::Status ValidateObjectName(std::string_view name);

// Directory backend: <root>/<2 hex>/<62 hex>, written to a temp file in the
// same directory, fsynced, renamed, directory fsynced before Put returns.
// A batch (StagePutAligned + CommitPuts) writes every chunk to a temp file,
// then syncs the file system once (syncfs: the temp files' data and inodes),
// renames them all, and syncs once more (the renames); a crash at any point
// leaves each final name either absent or complete.
// Temp files left by a crash are removed at Open.
// Open creates `root` (and missing parents) when needed.
absl::StatusOr<std::unique_ptr<ChunkStore>> OpenDirChunkStore(const std::string& root);

struct DirChunkStoreOptions {
  // Temp files older than this are leftovers of a crash and removed at Open;
  // younger ones may belong to a Put of another process sharing the store.
  // Zero removes every temp file (only safe when no other process writes).
  int64_t stale_temp_seconds = 3600;
  // Test hook: called at each step of CommitPuts ("staged", "data_synced",
  // "renamed", "committed") so a test can kill the process between steps.
  std::function<void(std::string_view step)> on_commit_step{};
};
absl::StatusOr<std::unique_ptr<ChunkStore>> OpenDirChunkStore(const std::string& root,
                                                              const DirChunkStoreOptions& options);

// Opens a store from a location: "/abs/path", "file:///abs/path" or
// "s3://..." (S3 is provided by common/s3/s3_chunkstore.h; returns
// UNIMPLEMENTED until it is registered with RegisterChunkStoreScheme).
absl::StatusOr<std::unique_ptr<ChunkStore>> OpenChunkStore(const std::string& location);
using ChunkStoreFactory =
    std::function<absl::StatusOr<std::unique_ptr<ChunkStore>>(const std::string& location)>;
void RegisterChunkStoreScheme(const std::string& scheme, ChunkStoreFactory f);

// A store plus keys: plaintext in, plaintext out. Get verifies the blob
// (DATA_LOSS naming the chunk on any corruption).
class SealedChunkStore {
 public:
  SealedChunkStore(ChunkStore* store, const Key256& data_key) : store_(store), sealer_(data_key) {}
  // Returns the stored (sealed) size.
  absl::StatusOr<uint64_t> PutPlain(const ChunkId& id, ByteSpan plaintext,
                                    Compression c = Compression::kAuto);
  // PutPlain for a batch: sealed and staged (ChunkStore::StagePutAligned);
  // durable only after store()->CommitPuts. Sets *stored_size.
  absl::StatusOr<ChunkStore::StagedPut> StagePlain(const ChunkId& id, ByteSpan plaintext,
                                                   uint64_t* stored_size,
                                                   Compression c = Compression::kAuto);
  absl::StatusOr<std::string> GetPlain(const ChunkId& id);
  ChunkStore* store() const { return store_; }
  const BlobSealer& sealer() const { return sealer_; }

 private:
  ChunkStore* const store_;  // not owned
  BlobSealer sealer_;
};

}  // namespace shoebox
