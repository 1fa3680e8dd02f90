// FastCDC content-defined chunking (Xia et al., 2016) with normalised
// chunking level 2 and a Gear table derived from a secret key, so chunk
// boundaries do not fingerprint content.
//
// Streaming: Feed() may be called with buffers of any size; the cut points
// are exactly those of one call with the whole input.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "common/bytes.h"
#include "common/crypto/keys.h"

namespace shoebox {

struct ChunkerParams {
  uint32_t min_size = 256 * 1024;
  uint32_t avg_size = 1024 * 1024;  // must be a power of two
  uint32_t max_size = 4 * 1024 * 1024;
};

// OK when 64 <= min_size <= avg_size <= max_size <= 1 GiB and avg_size is a
// power of two in [256, 2^30]; otherwise INVALID_ARGUMENT saying which. The
// Chunker constructor aborts on parameters this rejects, so validate
// user-supplied values first.
absl::Status ValidateChunkerParams(const ChunkerParams& p);

// The masks of normalised chunking level 2 for a given average size:
// mask_s has log2(avg)+2 one bits, mask_l log2(avg)-2, spread over bits
// 16..63 (docs/formats.md gives the exact positions).
uint64_t FastCdcMask(int one_bits);

// The Gear table: 256 64-bit values from AES-256-CTR keystream under
// `chunker_key` (see docs/formats.md).
using GearTable = std::array<uint64_t, 256>;
GearTable MakeGearTable(const Key256& chunker_key);

// Cut rule (docs/formats.md, section 4): within a chunk, bytes before
// min_size are not hashed; then fp = (fp << 1) + gear[byte] and the chunk
// ends after the byte where fp & (length < avg ? mask_s : mask_l) == 0, or at
// max_size. Not thread-safe; one per stream.
class Chunker {
 public:
  // Aborts on parameters ValidateChunkerParams() rejects.
  Chunker(const ChunkerParams& p, const GearTable& gear);
  // Feeds the next bytes of the stream. Appends to `cuts` the absolute stream
  // offsets (end, exclusive) of every chunk completed within these bytes.
  void Feed(ByteSpan data, std::vector<uint64_t>* cuts);
  // Ends the stream; returns the end offset of the last (short) chunk, or
  // nothing when the stream is empty or ended exactly on a cut.
  std::optional<uint64_t> Finish();
  // Offset of the next byte to be fed.
  uint64_t position() const { return pos_; }
  // Starts a new stream.
  void Reset();

 private:
  const ChunkerParams params_;
  const GearTable gear_;
  uint64_t mask_s_, mask_l_;
  uint64_t pos_ = 0;          // absolute stream offset
  uint64_t chunk_start_ = 0;  // offset where the current chunk began
  uint64_t fp_ = 0;
};

}  // namespace shoebox
