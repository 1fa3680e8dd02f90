// The sealed chunk blob format (docs/formats.md describes it byte by byte):
//
//   offset 0   1 byte   version   (0x01)
//   offset 1   1 byte   flags     (bit 0: payload is zstd-compressed)
//   offset 2  12 bytes  nonce     (random, 96 bits)
//   offset 14  n bytes  AES-256-GCM ciphertext of the (maybe compressed) payload
//   offset 14+n 16 bytes GCM tag
//
// Associated data: the 32-byte chunk ID followed by the version and flags
// bytes, so swapping a blob under another ID, or flipping the flags, fails
// authentication.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/fsutil.h"

namespace shoebox {

inline constexpr uint8_t kBlobVersion = 1;
inline constexpr uint8_t kBlobFlagZstd = 0x01;
inline constexpr size_t kBlobHeaderSize = 14;
inline constexpr size_t kBlobTagSize = 16;
inline constexpr size_t kBlobOverhead = kBlobHeaderSize + kBlobTagSize;

// True when the data starts with the magic bytes of an already-compressed
// format (JPEG, PNG, GIF, WebP, HEIC/HEIF/AVIF, MP4/MOV (ftyp), ZIP, gzip,
// zstd, xz, bzip2, 7z, RAR, Matroska/WebM, ...): those are never compressed.
bool LooksCompressed(ByteSpan data);

enum class Compression {
  kAuto,   // try zstd level 3 unless LooksCompressed(); keep it only if it saves
           // >= 3%. Payloads over 128 KiB are tried only when four 16 KiB
           // samples compress by >= 3% (cheap skip of incompressible data).
  kNever,  // store raw
};

class BlobSealer {
 public:
  explicit BlobSealer(const Key256& data_key);
  ~BlobSealer();
  // Seals `plaintext` of the chunk `id`. Thread-safe.
  std::string Seal(const ChunkId& id, ByteSpan plaintext, Compression c = Compression::kAuto) const;
  // Seal() into `out` (for writing with O_DIRECT in place, no copy); returns
  // the blob's size. RESOURCE_EXHAUSTED when `out` cannot grow. Thread-safe.
  absl::StatusOr<size_t> SealTo(const ChunkId& id, ByteSpan plaintext, Compression c,
                                AlignedBytes* out) const;
  // Opens a blob. Any flipped bit, truncation, wrong key, unknown version or
  // blob stored under another ID: DATA_LOSS "chunk <hex id>: ..." — never
  // wrong bytes. Thread-safe.
  absl::StatusOr<std::string> Open(const ChunkId& id, std::string_view blob) const;

 private:
  ByteSpan Payload(ByteSpan plaintext, Compression c, std::string* compressed,
                   uint8_t* flags) const;
  Key256 key_;
};

}  // namespace shoebox
