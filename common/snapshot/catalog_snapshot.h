// Catalog snapshots: the PostgreSQL catalog (pg_dump, custom format) sealed
// with the catalog key (HKDF of the master key, info "shoebox catalog key")
// and kept as named objects "catalog/<time>.snap" in the chunk store (and as
// files ".shoebox/catalog/<time>.snap" at plain-file destinations).
// docs/recovery.md describes how they are made and used; docs/formats.md the
// bytes:
//
//   offset 0   8 bytes  magic "SBXCATS1"
//   offset 8   8 bytes  key check: HMAC-SHA256(catalog key, "shoebox catalog key check")[0..8)
//   offset 16  8 bytes  creation time, ms since the epoch, big-endian
//   offset 24  ...      sealed blob (common/crypto/blob.h) of the dump under the
//                       catalog key, its "chunk ID" = SHA-256(bytes 0..24), so
//                       the header is authenticated too; never compressed
//                       (pg_dump's custom format already is)
//
// The key check lets a wrong master key be told apart from a damaged file
// without revealing anything about the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"

namespace shoebox::snapshot {

inline constexpr char kMagic[] = "SBXCATS1";
inline constexpr size_t kHeaderSize = 24;
// Named-object prefix in the chunk store.
inline constexpr char kStorePrefix[] = "catalog/";
// Directory (relative to a destination's root) for copies at destinations.
inline constexpr char kDestinationDir[] = ".shoebox/catalog";

// Seals a dump taken at `created_unix_ms`.
std::string Seal(const Key256& catalog_key, int64_t created_unix_ms, ByteSpan dump);
// Opens a sealed snapshot; `what` names it in errors. A snapshot of another
// master key: FAILED_PRECONDITION ("sealed with a different master key");
// not a snapshot, damaged or truncated: DATA_LOSS.
absl::StatusOr<std::string> Open(const Key256& catalog_key, std::string_view sealed,
                                 std::string_view what);
// The creation time in the header (no key needed; not authenticated).
absl::StatusOr<int64_t> CreatedUnixMs(std::string_view sealed, std::string_view what);

// "20261126T204400123Z.snap" (UTC; names sort by time).
std::string FileName(int64_t created_unix_ms);
// Parses a FileName(); false for anything else.
bool ParseFileName(std::string_view file_name, int64_t* created_unix_ms);

struct Info {
  std::string name;  // named object ("catalog/<file>") or file path
  int64_t created_unix_ms = 0;
  uint64_t size = 0;
};

// Snapshots in the chunk store, newest first. Other named objects are ignored.
absl::StatusOr<std::vector<Info>> List(ChunkStore* store);
// Stores a sealed snapshot as "catalog/<FileName(created)>".
absl::StatusOr<Info> Put(ChunkStore* store, std::string_view sealed, int64_t created_unix_ms);
// Deletes all but the newest `keep` snapshots (keep 0 is treated as 1).
// Returns how many were deleted.
absl::StatusOr<int> Prune(ChunkStore* store, uint32_t keep);

}  // namespace shoebox::snapshot
