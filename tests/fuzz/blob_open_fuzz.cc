// Blob parser: any bytes under any ID must open to DATA_LOSS or to exactly
// what was sealed; sealing then opening must round-trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/crypto/blob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const shoebox::BlobSealer sealer([] {
    shoebox::Key256 k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }());
  shoebox::ChunkId id{};
  size_t n = size < id.size() ? size : id.size();
  for (size_t i = 0; i < n; ++i) id[i] = data[i];
  std::string_view rest(reinterpret_cast<const char*>(data) + n, size - n);
  auto opened = sealer.Open(id, rest);
  if (!opened.ok() && opened.status().code() != absl::StatusCode::kDataLoss) abort();
  std::string sealed = sealer.Seal(id, shoebox::AsBytes(rest));
  auto back = sealer.Open(id, sealed);
  if (!back.ok() || *back != rest) abort();
  // A single flipped bit anywhere must be detected.
  if (!sealed.empty()) {
    sealed[size % sealed.size()] ^= static_cast<char>(1u << (size % 8));
    auto bad = sealer.Open(id, sealed);
    if (bad.ok() || bad.status().code() != absl::StatusCode::kDataLoss) abort();
  }
  return 0;
}
