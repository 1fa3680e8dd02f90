// The chunk-list record. See chunk_list_format.h.
#include "coordinator/store/chunk_list_format.h"

#include "absl/strings/str_cat.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

static_assert(kChunkListMaxChunkSize == kMaxChunkRefSize,
              "the chunk list accepts what validate.h lets in");
static_assert(kChunkListRecordBytes == kChunkIdBytes + 4);

namespace {

absl::Status CheckLength(std::string_view list) {
  if (list.size() % kChunkListRecordBytes != 0) {
    return absl::DataLossError(absl::StrCat(
        "chunk list: ", list.size(), " bytes is not a whole number of ", kChunkListRecordBytes,
        "-byte records (", list.size() % kChunkListRecordBytes,
        " bytes too many); the catalog row is damaged: restore the catalog from a snapshot "
        "(docs/recovery.md)"));
  }
  return absl::OkStatus();
}

uint32_t SizeAt(std::string_view list, size_t off) {
  const auto* p = reinterpret_cast<const unsigned char*>(list.data() + off + kChunkIdBytes);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

absl::Status CheckSize(uint32_t size, size_t record) {
  if (size == 0 || size > kChunkListMaxChunkSize) {
    return absl::DataLossError(
        absl::StrCat("chunk list: record ", record, " gives a chunk size of ", size,
                     " bytes (allowed 1..", kChunkListMaxChunkSize,
                     "); the catalog row is damaged: restore the catalog from a "
                     "snapshot (docs/recovery.md)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeChunkList(const std::vector<ChunkRef>& chunks) {
  std::string out;
  out.reserve(chunks.size() * kChunkListRecordBytes);
  for (const ChunkRef& c : chunks) {
    out += c.id;
    out += static_cast<char>((c.size >> 24) & 0xff);
    out += static_cast<char>((c.size >> 16) & 0xff);
    out += static_cast<char>((c.size >> 8) & 0xff);
    out += static_cast<char>(c.size & 0xff);
  }
  return out;
}

absl::StatusOr<std::vector<ChunkRef>> DecodeChunkList(std::string_view list) {
  if (absl::Status st = CheckLength(list); !st.ok()) return st;
  std::vector<ChunkRef> out;
  out.reserve(list.size() / kChunkListRecordBytes);
  for (size_t off = 0; off < list.size(); off += kChunkListRecordBytes) {
    const uint32_t size = SizeAt(list, off);
    if (absl::Status st = CheckSize(size, off / kChunkListRecordBytes); !st.ok()) return st;
    out.push_back(ChunkRef{std::string(list.substr(off, kChunkIdBytes)), size});
  }
  return out;
}

absl::StatusOr<bool> ChunkListContains(std::string_view list, std::string_view id) {
  if (absl::Status st = CheckLength(list); !st.ok()) return st;
  bool found = false;
  for (size_t off = 0; off < list.size(); off += kChunkListRecordBytes) {
    const uint32_t size = SizeAt(list, off);
    if (absl::Status st = CheckSize(size, off / kChunkListRecordBytes); !st.ok()) return st;
    if (list.substr(off, kChunkIdBytes) == id) found = true;
  }
  return found;
}

}  // namespace shoebox::coordinator
