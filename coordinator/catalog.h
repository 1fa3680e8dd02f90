// The agent side of the coordinator as a plain class: devices, file reports,
// chunk ingest, version listing and restore reads. Tests call it directly;
// service/agent_service.cc only translates. `device` is always the
// authenticated caller's name (never a request field).
//
// Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/chunker/fastcdc.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/metrics.h"
#include "coordinator/options.h"
#include "coordinator/store/catalog_store.h"
#include "coordinator/store/verify_store.h"
#include "coordinator/upload_claims.h"
#include "shoebox/v1/agent.pb.h"

namespace shoebox::coordinator {

class Catalog {
 public:
  // Borrows everything; all must outlive the catalog. `verify` records
  // chunks found damaged when a read fails.
  Catalog(CatalogStore* store, VerifyStore* verify, SealedChunkStore* chunks,
          const DerivedKeys& keys, const Limits& limits, Metrics* metrics);

  // Registers the device on first call and hands out the agent keys.
  absl::StatusOr<shoebox::v1::HelloResponse> Hello(const std::string& device,
                                                   const shoebox::v1::HelloRequest& req);
  absl::StatusOr<shoebox::v1::HeartbeatResponse> Heartbeat(
      const std::string& device, const shoebox::v1::HeartbeatRequest& req);
  // A batch larger than max_report_batch is refused as a whole
  // (INVALID_ARGUMENT "files: ..."); an invalid entry gets its own result
  // with code INVALID_ARGUMENT and a message naming the field
  // ("files[3].path: ..."), the others are recorded.
  absl::StatusOr<shoebox::v1::ReportFilesResponse> ReportFiles(
      const std::string& device, const shoebox::v1::ReportFilesRequest& req);
  // Verifies the chunk ID against the plaintext, seals and writes the blob
  // durably, records it (and the device as an owner), and only then returns
  // an OK ack. A request with `nonce`/`proof` instead of data answers a
  // challenge (proof of ownership, docs/security.md): the stored chunk is
  // opened and HMAC-SHA256(nonce, plaintext) compared. Never throws away
  // the stream: every problem is the ack's code and message.
  shoebox::v1::PutChunkAck PutChunk(const std::string& device,
                                    const shoebox::v1::PutChunkRequest& req);
  // PutChunk in two halves for group commit (docs/formats.md, "Batched
  // durability"): PreparePutChunk checks, seals and stages the chunk (not
  // durable, nothing recorded); FinishPutChunks makes a batch of staged
  // chunks durable with one CommitPuts, and only then records them in the
  // catalog and fills their acks. A prepared chunk that needs no write (a
  // failure, a proof, a chunk stored already) is finished there too.
  struct PreparedChunk {
    shoebox::v1::PutChunkAck ack;  // final when `done`
    bool done = false;
    std::string id;
    bool already_stored = false;
    uint32_t size = 0;
    uint64_t stored_size = 0;
    absl::StatusOr<int64_t> dev = absl::UnknownError("unset");
    ChunkStore::StagedPut staged;
  };
  PreparedChunk PreparePutChunk(const std::string& device, const shoebox::v1::PutChunkRequest& req);
  // Fills every entry's ack (done afterwards). A failed commit fails the
  // batch's staged chunks (the agent sends them again).
  void FinishPutChunks(const std::string& device, std::vector<PreparedChunk>& batch);
  // The caller's versions (req.device empty or the caller's own name).
  absl::StatusOr<shoebox::v1::ListVersionsResponse> ListVersions(
      const std::string& device, const shoebox::v1::ListVersionsRequest& req);
  // Any device's versions (admin); req.device names it.
  absl::StatusOr<shoebox::v1::ListVersionsResponse> ListVersionsOf(
      const shoebox::v1::ListVersionsRequest& req);
  // Plaintext chunks for a restore; every ID must belong to a file of the
  // device (NOT_FOUND naming the first one that does not, before any data
  // is sent). `emit` returns false to stop (client gone).
  absl::Status ReadChunksPlain(const std::string& device,
                               const google::protobuf::RepeatedPtrField<std::string>& ids,
                               const std::function<bool(shoebox::v1::ChunkData&&)>& emit);
  // Plaintext of any stored chunk (admin restores).
  absl::Status ReadChunksPlainAny(const google::protobuf::RepeatedPtrField<std::string>& ids,
                                  const std::function<bool(shoebox::v1::ChunkData&&)>& emit);
  // Sealed blobs exactly as stored (workers).
  absl::Status ReadChunksSealed(const google::protobuf::RepeatedPtrField<std::string>& ids,
                                const std::function<bool(shoebox::v1::ChunkData&&)>& emit);

  // Device ID for a name (cached); NOT_FOUND when it never said Hello.
  absl::StatusOr<int64_t> DeviceId(const std::string& device);

  static constexpr int kMaxReadIds = 1024;
  // Challenge nonces: issued time (8 bytes), random (16), tag (16) binding
  // them to the device and the chunk. Answerable for kChallengeLifetime.
  static constexpr size_t kNonceSize = 40;
  static constexpr absl::Duration kChallengeLifetime = absl::Hours(24);

 private:
  absl::Status ReadStored(const google::protobuf::RepeatedPtrField<std::string>& ids, bool plain,
                          const std::function<bool(shoebox::v1::ChunkData&&)>& emit);

  // A fresh challenge nonce for (device, chunk).
  std::string NewNonce(int64_t device_id, const std::string& chunk_id, absl::Time now) const;
  // OK when `nonce` is one NewNonce made for (device, chunk) and not expired.
  absl::Status CheckNonce(int64_t device_id, const std::string& chunk_id, const std::string& nonce,
                          absl::Time now) const;
  // Answers a challenge (PutChunk with a proof).
  shoebox::v1::PutChunkAck ProveChunk(const std::string& device,
                                      const shoebox::v1::PutChunkRequest& req);

  // A chunk the catalog says is stored could not be read back: records the
  // damage and queues repairs (DATA_LOSS / NOT_FOUND); other errors pass.
  absl::Status ChunkReadFailed(const std::string& id, const absl::Status& st);

  CatalogStore* const store_;
  VerifyStore* const verify_;
  SealedChunkStore* const chunks_;
  const DerivedKeys keys_;
  const Limits limits_;
  Metrics* const metrics_;
  const HmacSha256 id_hmac_;
  // Tags challenge nonces (key: HKDF of the data key, so every replica
  // checks the nonces of the others).
  const HmacSha256 challenge_hmac_;
  // Missing chunks handed to one device at a time (coordinator/upload_claims.h).
  UploadClaims claims_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> device_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::coordinator
