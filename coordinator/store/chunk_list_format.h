// The chunk-list record: how a file version's chunks are stored in
// file_versions.chunk_list (bytea). The one definition of the format; every
// C++ reader and writer goes through these functions. (Two SQL statements
// also read the list with position(): a chunk ID found at any offset is
// re-checked here against a record boundary, see ChunkListContains.)
//
// Format: n records, in file order, each 36 bytes:
//   bytes 0..31   chunk ID (HMAC-SHA-256 of the plaintext)
//   bytes 32..35  plaintext size, unsigned 32-bit big-endian, 1..16 MiB
// No header, no count: n = length / 36. An empty list is a file without
// content. Written by ReportFiles from validated reports (validate.h), so a
// list that breaks these rules is damage in the catalog: DATA_LOSS.
//
// Stateless; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace shoebox::coordinator {

inline constexpr size_t kChunkIdBytes = 32;
inline constexpr size_t kChunkListRecordBytes = 36;
// Largest plaintext size a record may carry (validate.h kMaxChunkRefSize).
inline constexpr uint32_t kChunkListMaxChunkSize = 16 * 1024 * 1024;

// One chunk of a file version.
struct ChunkRef {
  std::string id;  // kChunkIdBytes bytes
  uint32_t size = 0;

  bool operator==(const ChunkRef& o) const { return id == o.id && size == o.size; }
};

// The list for `chunks`. Precondition (checked by validate.h before any
// report reaches the store): every ID has kChunkIdBytes bytes and every size
// is 1..kChunkListMaxChunkSize.
std::string EncodeChunkList(const std::vector<ChunkRef>& chunks);

// The chunks of `list`. DATA_LOSS when the length is not a multiple of the
// record size or a size is 0 or above kChunkListMaxChunkSize (the message
// names the record); the caller adds which version the list belongs to.
absl::StatusOr<std::vector<ChunkRef>> DecodeChunkList(std::string_view list);

// Whether `id` is the ID of one of the records of `list` (not merely bytes
// at some offset). DATA_LOSS as for DecodeChunkList.
absl::StatusOr<bool> ChunkListContains(std::string_view list, std::string_view id);

}  // namespace shoebox::coordinator
