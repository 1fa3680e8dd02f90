#include "workers/connectors/quickxorhash.h"

#include <cstring>

#include "absl/strings/escaping.h"

namespace shoebox::worker {
namespace {
constexpr unsigned kBits = 160;
constexpr unsigned kShift = 11;
}  // namespace

void QuickXorHash::Update(std::string_view data) {
  // The shift of byte i depends on i mod 160 only (11 * 160 is a multiple of
  // 160), so bytes 160 apart land at the same place: fold whole 160-byte
  // periods into one first, then place the 160 folded bytes.
  unsigned shift = static_cast<unsigned>((length_ % kBits) * kShift % kBits);
  auto place = [this](uint8_t b, unsigned bit) {
    unsigned idx = bit / 8;
    unsigned v = static_cast<unsigned>(b) << (bit % 8);
    cells_[idx] ^= static_cast<uint8_t>(v);
    cells_[(idx + 1) % kSize] ^= static_cast<uint8_t>(v >> 8);
  };
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  if (n >= 2 * kBits) {
    uint8_t fold[kBits] = {};
    size_t periods = n / kBits;
    for (size_t k = 0; k < periods; ++k) {
      const uint8_t* q = p + k * kBits;
      for (unsigned j = 0; j < kBits; ++j) fold[j] ^= q[j];
    }
    for (unsigned j = 0; j < kBits; ++j) {
      place(fold[j], shift);
      shift = (shift + kShift) % kBits;
    }
    p += periods * kBits;
    n -= periods * kBits;
  }
  for (size_t i = 0; i < n; ++i) {
    place(p[i], shift);
    shift = (shift + kShift) % kBits;
  }
  length_ += data.size();
}

std::string QuickXorHash::Digest() const {
  std::array<uint8_t, kSize> out = cells_;
  for (unsigned i = 0; i < 8; ++i) out[kSize - 8 + i] ^= static_cast<uint8_t>(length_ >> (8 * i));
  return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

std::string QuickXorHash::Base64() const { return absl::Base64Escape(Digest()); }

std::string QuickXorHash::SaveState() const {
  std::string s(reinterpret_cast<const char*>(cells_.data()), cells_.size());
  for (unsigned i = 0; i < 8; ++i) s.push_back(static_cast<char>(length_ >> (8 * i)));
  return s;
}

bool QuickXorHash::RestoreState(std::string_view s) {
  if (s.size() != kSize + 8) return false;
  std::memcpy(cells_.data(), s.data(), kSize);
  length_ = 0;
  for (unsigned i = 0; i < 8; ++i)
    length_ |= static_cast<uint64_t>(static_cast<uint8_t>(s[kSize + i])) << (8 * i);
  return true;
}

}  // namespace shoebox::worker
