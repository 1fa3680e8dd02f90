// Deterministic test data: the one generator every test uses for file
// contents, chunk payloads and blobs. Header-only, no dependencies, so unit
// tests inside the components can use it as well as the integration tests.
//
// Two generators, both fixed forever (tests pin chunk boundaries, hashes and
// byte-exact read-backs to them; changing a constant changes what they check):
//   XorShift64   sequential bytes (xorshift64 13/7/17, low byte per step);
//   SeekableByte byte i of a stream computable on its own (SplitMix64 per
//                8-byte word), for sources of hundreds of MiB that are
//                generated on the fly and seeked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace shoebox::testsupport {

inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

// xorshift64 (13, 7, 17). The state must not be 0.
class XorShift64 {
 public:
  explicit constexpr XorShift64(uint64_t state) : x_(state) {}
  // The state most tests start from for `seed`: golden gamma * (seed + 1).
  static constexpr XorShift64 ForSeed(uint64_t seed) {
    return XorShift64(kGoldenGamma * (seed + 1));
  }
  uint64_t Next() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return x_;
  }
  // `n` bytes, the low byte of each step.
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(Next() & 0xff);
    return s;
  }

 private:
  uint64_t x_;
};

// `n` deterministic pseudo-random bytes for `seed` (XorShift64::ForSeed).
// Different seeds give unrelated contents; the same seed the same bytes.
inline std::string PseudoRandomBytes(size_t n, uint64_t seed) {
  return XorShift64::ForSeed(seed).Bytes(n);
}

// SplitMix64's finaliser.
inline constexpr uint64_t SplitMix64(uint64_t x) {
  x += kGoldenGamma;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Fills buf[0, n) with bytes [offset, offset + n) of the seekable stream for
// `seed` (word w of the stream is SplitMix64(seed * 0x100000001B3 + w), little
// endian). Any offset is computed directly: a 200 MiB source is never held.
inline void FillSeekable(uint64_t seed, uint64_t offset, uint8_t* buf, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint64_t word = SplitMix64(seed * 0x100000001B3ull + (offset + i) / 8);
    size_t in_word = (offset + i) % 8;
    size_t take = 8 - in_word < n - i ? 8 - in_word : n - i;
    std::memcpy(buf + i, reinterpret_cast<const uint8_t*>(&word) + in_word, take);
    i += take;
  }
}

// The first `n` bytes of the seekable stream for `seed` (small sizes).
inline std::string SeekableBytes(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  FillSeekable(seed, 0, reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

}  // namespace shoebox::testsupport
