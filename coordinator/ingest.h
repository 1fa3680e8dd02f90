// Server-side ingest (issue 21, docs/transfers.md): items of a source that
// is not an agent (a Google Takeout archive the CLI reads; service sources
// later) become file versions of the source's device, exactly as an
// agent's files do:
//   - the bytes are cut with the agent's chunker (common/chunker, the same
//     Gear-table key and parameters Hello hands agents), chunk IDs are
//     HMAC-SHA256 under the chunk-ID key, so an item an agent already sent
//     is deduplicated against it (and the other way round);
//   - a chunk already stored is not written again; a new one is sealed and
//     written durably (SealedChunkStore) before the catalog hears of it;
//   - the version is recorded through CatalogStore::ReportFiles (the steps of
//     pg_report_files.cc) with the item's albums and capture date, and
//     completed with MarkChunkStored / RecordChunkOwner: the server read the
//     bytes itself, so the source's device owns every chunk of the item.
// The same item imported twice (same path, size, mtime and SHA-256) makes
// no new version and writes no chunk.
//
// Thread-compatible: one Session per stream; Ingest itself is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/chunker/fastcdc.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/metrics.h"
#include "coordinator/store/catalog_store.h"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::coordinator {

class Ingest {
 public:
  // Borrows everything; all must outlive the Ingest.
  Ingest(CatalogStore* store, SealedChunkStore* chunks, const DerivedKeys& keys, Metrics* metrics);

  class Session;
  // The source's device (created when missing, hostname "import", one folder
  // "/<source>"). FAILED_PRECONDITION when a device of that name exists that
  // is not an import source (an agent's): choose another --device name.
  absl::StatusOr<std::unique_ptr<Session>> Open(const shoebox::v1::ImportHeader& header);

  // The folder root of a source's items.
  static std::string FolderOf(const std::string& source) { return "/" + source; }
  // What the devices table says of an import source (hostname).
  static constexpr char kImportHostname[] = "import";

 private:
  friend class Session;
  CatalogStore* const store_;
  SealedChunkStore* const chunks_;
  Metrics* const metrics_;
  const HmacSha256 id_hmac_;
  const GearTable gear_;
};

// One import stream: ImportItem, then its bytes (Data), then the next item.
class Ingest::Session {
 public:
  // Discards chunks staged for an item that did not end.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // One message after the header. INVALID_ARGUMENT naming the item for a
  // bad item, data without an item or beyond its size, a second header, an
  // item while the previous one still waits for bytes; errors of the chunk
  // store or catalog as they come (the items before are kept).
  absl::Status Handle(const shoebox::v1::ImportItemsRequest& msg);
  // The end of the stream: INVALID_ARGUMENT when an item is incomplete.
  absl::StatusOr<shoebox::v1::ImportItemsResponse> Finish();

  const shoebox::v1::ImportItemsResponse& totals() const { return totals_; }

 private:
  friend class Ingest;
  Session(Ingest* ingest, std::string device, int64_t device_id, int64_t folder_id);

  absl::Status BeginItem(const shoebox::v1::ImportItem& item);
  absl::Status Feed(std::string_view data);
  absl::Status EndItem();
  // Stores one chunk of the current item (written unless stored already).
  absl::Status StoreChunk(std::string_view data);

  Ingest* const ingest_;
  const std::string device_;
  const int64_t device_id_;
  const int64_t folder_id_;
  shoebox::v1::ImportItemsResponse totals_;
  uint64_t item_count_ = 0;

  // The current item.
  std::optional<shoebox::v1::ImportItem> item_;
  uint64_t received_ = 0;
  std::unique_ptr<Chunker> chunker_;
  std::unique_ptr<Sha256> sha_;
  std::string pending_;  // bytes of the chunk being cut
  std::vector<ChunkRef> refs_;
  // Chunks of this item staged now (group commit at the item's end, before
  // the catalog hears of them; docs/formats.md, "Batched durability").
  std::vector<ChunkStore::StagedPut> staged_;
  // Chunks of this item written now: ID -> stored (sealed) size.
  absl::flat_hash_map<std::string, uint64_t> written_;
  absl::flat_hash_map<std::string, bool> seen_;  // ID -> already stored before
};

}  // namespace shoebox::coordinator
