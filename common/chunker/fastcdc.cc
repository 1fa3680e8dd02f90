#include "common/chunker/fastcdc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace shoebox {

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "shoebox: fatal error in %s\n", what);
  std::abort();
}

// Scans `n` bytes, rolling the Gear fingerprint; returns the index of the
// first byte after which (fp & mask) == 0, or n when there is none.
//
// Speed: the loop-carried chain of the byte-at-a-time form is
// fp = (fp << 1) + g, one dependent shift-add per byte. Here four bytes
// advance the chain with a single shift-add, fp4 = (fp << 4) + w, where
// w = 8 g0 + 4 g1 + 2 g2 + g3 does not depend on fp; the three intermediate
// fingerprints (needed for the mask tests) are computed off the chain. The
// result is bit-identical to the byte-at-a-time definition.
inline size_t Scan(const uint8_t* p, size_t n, uint64_t* fp_io, uint64_t mask,
                   const uint64_t* gear) {
  uint64_t fp = *fp_io;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint64_t g0 = gear[p[i]], g1 = gear[p[i + 1]], g2 = gear[p[i + 2]], g3 = gear[p[i + 3]];
    const uint64_t w1 = g0;
    const uint64_t w2 = (g0 << 1) + g1;
    const uint64_t w3 = (w2 << 1) + g2;
    const uint64_t w4 = (w3 << 1) + g3;
    const uint64_t f1 = (fp << 1) + w1;
    const uint64_t f2 = (fp << 2) + w2;
    const uint64_t f3 = (fp << 3) + w3;
    const uint64_t f4 = (fp << 4) + w4;
    if (__builtin_expect(
            ((f1 & mask) == 0) | ((f2 & mask) == 0) | ((f3 & mask) == 0) | ((f4 & mask) == 0), 0)) {
      if ((f1 & mask) == 0) {
        *fp_io = f1;
        return i;
      }
      if ((f2 & mask) == 0) {
        *fp_io = f2;
        return i + 1;
      }
      if ((f3 & mask) == 0) {
        *fp_io = f3;
        return i + 2;
      }
      *fp_io = f4;
      return i + 3;
    }
    fp = f4;
  }
  for (; i < n; ++i) {
    fp = (fp << 1) + gear[p[i]];
    if ((fp & mask) == 0) {
      *fp_io = fp;
      return i;
    }
  }
  *fp_io = fp;
  return n;
}

}  // namespace

absl::Status ValidateChunkerParams(const ChunkerParams& p) {
  if (p.avg_size < 256 || p.avg_size > (1u << 30) || !std::has_single_bit(p.avg_size)) {
    return absl::InvalidArgumentError(absl::StrCat("chunker avg_size ", p.avg_size,
                                                   " must be a power of two between 256 and 2^30"));
  }
  if (p.min_size < 64 || p.min_size > p.avg_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunker min_size ", p.min_size, " must be between 64 and avg_size ", p.avg_size));
  }
  if (p.max_size < p.avg_size || p.max_size > (1u << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunker max_size ", p.max_size, " must be between avg_size ", p.avg_size, " and 2^30"));
  }
  return absl::OkStatus();
}

uint64_t FastCdcMask(int one_bits) {
  // Bit j (j = 0..n-1) of the mask sits at position 63 - floor(j * 48 / n):
  // spread evenly over the top 48 bits, so every tested bit depends on at
  // least the last 17 bytes of the window.
  uint64_t mask = 0;
  for (int j = 0; j < one_bits; ++j) mask |= uint64_t{1} << (63 - (j * 48) / one_bits);
  return mask;
}

GearTable MakeGearTable(const Key256& chunker_key) {
  uint8_t zeros[256 * 8] = {};
  uint8_t stream[256 * 8];
  uint8_t iv[16] = {};
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0;
  bool ok = cipher != nullptr && ctx != nullptr &&
            EVP_EncryptInit_ex2(ctx, cipher, chunker_key.data(), iv, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, stream, &len, zeros, sizeof(zeros)) == 1 &&
            EVP_EncryptFinal_ex(ctx, stream + len, &fin) == 1 && len + fin == sizeof(stream);
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  if (!ok) Die("MakeGearTable: AES-256-CTR");
  GearTable g;
  for (size_t i = 0; i < g.size(); ++i) {
    uint64_t v = 0;
    for (int b = 7; b >= 0; --b)
      v = (v << 8) | stream[8 * i + static_cast<size_t>(b)];  // little-endian
    g[i] = v;
  }
  OPENSSL_cleanse(stream, sizeof(stream));
  return g;
}

Chunker::Chunker(const ChunkerParams& p, const GearTable& gear) : params_(p), gear_(gear) {
  absl::Status st = ValidateChunkerParams(p);
  if (!st.ok()) {
    std::fprintf(stderr, "shoebox: %s\n", std::string(st.message()).c_str());
    Die("Chunker: invalid parameters (call ValidateChunkerParams first)");
  }
  const int bits = std::countr_zero(p.avg_size);
  mask_s_ = FastCdcMask(bits + 2);
  mask_l_ = FastCdcMask(bits - 2);
}

void Chunker::Reset() {
  pos_ = 0;
  chunk_start_ = 0;
  fp_ = 0;
}

// Chunk rules (relative index i = offset within the current chunk, length
// L = i + 1 once byte i is included):
//   - bytes with L < min_size are not hashed (fp stays 0);
//   - for L >= min_size: fp = (fp << 1) + gear[byte];
//     the chunk ends after this byte when (fp & (L < avg ? mask_s : mask_l)) == 0;
//   - a chunk that reaches max_size ends there.
void Chunker::Feed(ByteSpan data, std::vector<uint64_t>* cuts) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  const uint64_t min = params_.min_size, avg = params_.avg_size, max = params_.max_size;
  const uint64_t* gear = gear_.data();
  while (n > 0) {
    const uint64_t len = pos_ - chunk_start_;  // bytes already in this chunk
    size_t take;
    if (len + 1 < min) {
      take = static_cast<size_t>(std::min<uint64_t>(n, min - 1 - len));
      p += take;
      n -= take;
      pos_ += take;
      continue;
    }
    uint64_t mask;
    if (len + 1 < avg) {
      take = static_cast<size_t>(std::min<uint64_t>(n, avg - 1 - len));
      mask = mask_s_;
    } else {
      take = static_cast<size_t>(std::min<uint64_t>(n, max - len));
      mask = mask_l_;
    }
    size_t hit = Scan(p, take, &fp_, mask, gear);
    if (hit < take) {
      pos_ += hit + 1;
      p += hit + 1;
      n -= hit + 1;
      cuts->push_back(pos_);
      chunk_start_ = pos_;
      fp_ = 0;
      continue;
    }
    p += take;
    n -= take;
    pos_ += take;
    if (pos_ - chunk_start_ == max) {
      cuts->push_back(pos_);
      chunk_start_ = pos_;
      fp_ = 0;
    }
  }
}

std::optional<uint64_t> Chunker::Finish() {
  std::optional<uint64_t> last;
  if (pos_ > chunk_start_) last = pos_;
  chunk_start_ = pos_;
  fp_ = 0;
  return last;
}

}  // namespace shoebox
