// QuickXorHash, the content hash OneDrive reports for every file
// (file.hashes.quickXorHash), as published by Microsoft:
// https://learn.microsoft.com/en-us/onedrive/developer/code-snippets/quickxorhash
//
// A 160-bit state; byte i of the input is XORed into it at bit position
// (11 * i) mod 160 (wrapping around the end); at the end the input length,
// as a little-endian 64-bit integer, is XORed into the last 8 bytes. The
// digest is those 20 bytes, reported by the service in base64.
//
// The state can be saved and restored (SaveState / RestoreState) so an
// upload resumed after a worker restart goes on hashing where it stopped.
// Not thread-safe; one per stream.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace shoebox::worker {

class QuickXorHash {
 public:
  static constexpr size_t kSize = 20;
  void Update(std::string_view data);
  // The 20-byte digest of everything so far (the state is unchanged).
  std::string Digest() const;
  // Digest() in base64, as Graph reports it.
  std::string Base64() const;
  uint64_t length() const { return length_; }
  // 28 bytes: the raw cells and the length; RestoreState is false when `s`
  // is not such a string.
  std::string SaveState() const;
  bool RestoreState(std::string_view s);

  static std::string Base64Of(std::string_view data) {
    QuickXorHash h;
    h.Update(data);
    return h.Base64();
  }

 private:
  std::array<uint8_t, kSize> cells_{};
  uint64_t length_ = 0;
};

}  // namespace shoebox::worker
