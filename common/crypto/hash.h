// SHA-256 and HMAC-SHA256 through OpenSSL (SHA-NI accelerated).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace shoebox {

using Digest = std::array<uint8_t, 32>;
// Chunk ID: HMAC-SHA256(chunk_id_key, plaintext).
using ChunkId = Digest;

inline std::string DigestToString(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}
// FromString of a 32-byte string; false when the size is wrong.
bool DigestFromString(std::string_view s, Digest* out);

// Incremental SHA-256. Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(ByteSpan data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  // Finishes and resets for reuse.
  Digest Final();
  static Digest Of(ByteSpan data);
  static Digest Of(std::string_view data) { return Of(AsBytes(data)); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA256 with a fixed key. Compute() is const and thread-safe (each call
// uses its own context).
class HmacSha256 {
 public:
  explicit HmacSha256(ByteSpan key);
  ~HmacSha256();
  Digest Compute(ByteSpan data) const;
  Digest Compute(std::string_view data) const { return Compute(AsBytes(data)); }

 private:
  friend class HmacSha256Stream;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Incremental HMAC-SHA256 under the key of `mac` (borrowed; must outlive
// this). Lets a pipeline hash each piece of a chunk while it is still in
// cache, as the chunker passes over it. One per stream; not thread-safe.
class HmacSha256Stream {
 public:
  explicit HmacSha256Stream(const HmacSha256& mac);
  ~HmacSha256Stream();
  HmacSha256Stream(const HmacSha256Stream&) = delete;
  HmacSha256Stream& operator=(const HmacSha256Stream&) = delete;
  void Update(ByteSpan data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  // Finishes and resets for the next message under the same key.
  Digest Final();

 private:
  const HmacSha256& mac_;
  void* ctx_;  // EVP_MAC_CTX
};

// Fills `out` with cryptographically secure random bytes (OpenSSL RAND).
void SecureRandom(uint8_t* out, size_t n);

}  // namespace shoebox
