#include "common/crypto/blob.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace shoebox {

namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kAadSize = 32 + 2;
constexpr int kZstdLevel = 3;
// Decompressed payloads larger than this are refused (chunks are at most a
// few MiB; this bounds memory for a blob that authenticates but is hostile).
constexpr unsigned long long kMaxPlainSize = 1ull << 30;
// Before compressing a whole chunk, a sample is compressed; when it does not
// shrink by at least this fraction the chunk is treated as incompressible.
constexpr size_t kSampleBlock = 16 * 1024;
constexpr size_t kSampleBlocks = 4;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "shoebox: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* c = [] {
    EVP_CIPHER* x = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (x == nullptr) Die("EVP_CIPHER_fetch(AES-256-GCM)");
    return x;
  }();
  return c;
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> c(ZSTD_createCCtx());
  return c.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> c(ZSTD_createDCtx());
  return c.get();
}

bool StartsWith(ByteSpan d, std::string_view magic, size_t at = 0) {
  if (d.size() < at + magic.size()) return false;
  return std::memcmp(d.data() + at, magic.data(), magic.size()) == 0;
}

// Compressing saves >= 3%: compressed <= 97% of the original.
bool SavesEnough(size_t compressed, size_t original) { return compressed * 100 <= original * 97; }

// A quick look at a few spread-out 16 KiB blocks: incompressible data (random,
// encrypted, media without magic at this offset) is detected for ~6% of the
// cost of compressing a 1 MiB chunk.
bool SampleCompresses(ByteSpan p) {
  if (p.size() <= kSampleBlock * kSampleBlocks * 2) return true;  // small: just try
  thread_local std::string sample, out;
  sample.clear();
  size_t stride = (p.size() - kSampleBlock) / (kSampleBlocks - 1);
  for (size_t i = 0; i < kSampleBlocks; ++i) {
    sample.append(reinterpret_cast<const char*>(p.data()) + i * stride, kSampleBlock);
  }
  out.resize(ZSTD_compressBound(sample.size()));
  size_t n =
      ZSTD_compressCCtx(ThreadCCtx(), out.data(), out.size(), sample.data(), sample.size(), 1);
  const bool compresses = !ZSTD_isError(n) && SavesEnough(n, sample.size());
  OPENSSL_cleanse(sample.data(), sample.size());  // plaintext; do not leave it lying around
  return compresses;
}

absl::Status Corrupt(const ChunkId& id, std::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "chunk ", ToHex(ByteSpan(id.data(), id.size())), ": ", AbslView(why),
      "; the stored object is damaged or not this chunk's blob. Run a scrub and restore the "
      "chunk from another copy"));
}

}  // namespace

bool LooksCompressed(ByteSpan d) {
  using namespace std::string_view_literals;
  if (StartsWith(d, "\xff\xd8\xff"sv)) return true;                         // JPEG
  if (StartsWith(d, "\x89PNG\r\n\x1a\n"sv)) return true;                    // PNG
  if (StartsWith(d, "GIF87a"sv) || StartsWith(d, "GIF89a"sv)) return true;  // GIF
  if (StartsWith(d, "RIFF"sv) && StartsWith(d, "WEBP"sv, 8)) return true;   // WebP
  // ISO BMFF: MP4, MOV, HEIC/HEIF, AVIF, 3GP, M4A: box size then "ftyp".
  if (StartsWith(d, "ftyp"sv, 4)) return true;
  // Old QuickTime files start with other top-level atoms.
  if (StartsWith(d, "moov"sv, 4) || StartsWith(d, "mdat"sv, 4) || StartsWith(d, "wide"sv, 4)) {
    return true;
  }
  if (StartsWith(d, "PK\x03\x04"sv) || StartsWith(d, "PK\x05\x06"sv) ||
      StartsWith(d, "PK\x07\x08"sv)) {
    return true;  // ZIP (also docx/xlsx/jar/apk/epub)
  }
  if (StartsWith(d, "\x1f\x8b"sv)) return true;          // gzip
  if (StartsWith(d, "\x28\xb5\x2f\xfd"sv)) return true;  // zstd
  if (StartsWith(d,
                 "\xfd"
                 "7zXZ\x00"sv))
    return true;                                                             // xz
  if (StartsWith(d, "BZh"sv)) return true;                                   // bzip2
  if (StartsWith(d, "7z\xbc\xaf\x27\x1c"sv)) return true;                    // 7z
  if (StartsWith(d, "Rar!\x1a\x07"sv)) return true;                          // RAR
  if (StartsWith(d, "\x1a\x45\xdf\xa3"sv)) return true;                      // Matroska/WebM
  if (StartsWith(d, "\x04\x22\x4d\x18"sv)) return true;                      // LZ4 frame
  if (StartsWith(d, "ID3"sv)) return true;                                   // MP3 with ID3
  if (StartsWith(d, "fLaC"sv)) return true;                                  // FLAC
  if (StartsWith(d, "OggS"sv)) return true;                                  // Ogg
  if (StartsWith(d, "\xff\x0a"sv)) return true;                              // JPEG XL codestream
  if (StartsWith(d, "\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a"sv)) return true;  // JPEG XL box
  return false;
}

BlobSealer::BlobSealer(const Key256& data_key) : key_(data_key) {}

BlobSealer::~BlobSealer() { OPENSSL_cleanse(key_.data(), key_.size()); }

namespace {

// Header, AES-256-GCM ciphertext of `payload` and tag into `o`, which has
// room for kBlobOverhead + payload.size() bytes.
void SealInto(const Key256& key, const ChunkId& id, ByteSpan payload, uint8_t flags, uint8_t* o) {
  o[0] = kBlobVersion;
  o[1] = flags;
  SecureRandom(o + 2, kNonceSize);
  uint8_t aad[kAadSize];
  std::memcpy(aad, id.data(), 32);
  aad[32] = kBlobVersion;
  aad[33] = flags;

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) Die("EVP_CIPHER_CTX_new");
  int len = 0;
  bool ok = EVP_EncryptInit_ex2(ctx, Aes256Gcm(), key.data(), o + 2, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, aad, sizeof(aad)) == 1;
  size_t done = 0;
  // EVP lengths are int; feed large payloads in pieces.
  while (ok && done < payload.size()) {
    int piece = static_cast<int>(std::min<size_t>(payload.size() - done, 1 << 30));
    ok =
        EVP_EncryptUpdate(ctx, o + kBlobHeaderSize + done, &len, payload.data() + done, piece) == 1;
    done += static_cast<size_t>(len);
  }
  ok = ok && EVP_EncryptFinal_ex(ctx, o + kBlobHeaderSize + done, &len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kBlobTagSize,
                           o + kBlobHeaderSize + payload.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) Die("AES-256-GCM seal");
}

}  // namespace

// The payload: zstd output in `compressed` when compression pays, else the
// plaintext itself.
ByteSpan BlobSealer::Payload(ByteSpan plaintext, Compression c, std::string* compressed,
                             uint8_t* flags) const {
  *flags = 0;
  if (c == Compression::kAuto && !plaintext.empty() && !LooksCompressed(plaintext) &&
      SampleCompresses(plaintext)) {
    compressed->resize(ZSTD_compressBound(plaintext.size()));
    size_t n = ZSTD_compressCCtx(ThreadCCtx(), compressed->data(), compressed->size(),
                                 plaintext.data(), plaintext.size(), kZstdLevel);
    if (!ZSTD_isError(n) && SavesEnough(n, plaintext.size())) {
      compressed->resize(n);
      *flags |= kBlobFlagZstd;
      return AsBytes(*compressed);
    }
    compressed->clear();
  }
  return plaintext;
}

std::string BlobSealer::Seal(const ChunkId& id, ByteSpan plaintext, Compression c) const {
  std::string compressed;
  uint8_t flags = 0;
  ByteSpan payload = Payload(plaintext, c, &compressed, &flags);
  std::string out(kBlobOverhead + payload.size(), '\0');
  SealInto(key_, id, payload, flags, reinterpret_cast<uint8_t*>(out.data()));
  if (!compressed.empty()) OPENSSL_cleanse(compressed.data(), compressed.size());
  return out;
}

absl::StatusOr<size_t> BlobSealer::SealTo(const ChunkId& id, ByteSpan plaintext, Compression c,
                                          AlignedBytes* out) const {
  std::string compressed;
  uint8_t flags = 0;
  ByteSpan payload = Payload(plaintext, c, &compressed, &flags);
  const size_t n = kBlobOverhead + payload.size();
  uint8_t* o = out->Reserve(n);
  if (o == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory sealing a chunk of ", n, " bytes"));
  }
  SealInto(key_, id, payload, flags, o);
  if (!compressed.empty()) OPENSSL_cleanse(compressed.data(), compressed.size());
  return n;
}

absl::StatusOr<std::string> BlobSealer::Open(const ChunkId& id, std::string_view blob) const {
  if (blob.size() < kBlobOverhead) {
    return Corrupt(id, absl::StrCat("blob is truncated (", blob.size(), " bytes, at least ",
                                    kBlobOverhead, " expected)"));
  }
  const auto* b = reinterpret_cast<const uint8_t*>(blob.data());
  if (b[0] != kBlobVersion) {
    return Corrupt(id, absl::StrCat("blob has unknown format version ", static_cast<int>(b[0])));
  }
  const uint8_t flags = b[1];
  if ((flags & ~kBlobFlagZstd) != 0) {
    return Corrupt(id, absl::StrCat("blob has unknown flags 0x", ToHex(ByteSpan(&b[1], 1))));
  }
  uint8_t aad[kAadSize];
  std::memcpy(aad, id.data(), 32);
  aad[32] = b[0];
  aad[33] = flags;
  const size_t ct_len = blob.size() - kBlobOverhead;
  std::string payload(ct_len, '\0');
  auto* p = reinterpret_cast<uint8_t*>(payload.data());

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) Die("EVP_CIPHER_CTX_new");
  int len = 0;
  bool setup = EVP_DecryptInit_ex2(ctx, Aes256Gcm(), key_.data(), b + 2, nullptr) == 1 &&
               EVP_DecryptUpdate(ctx, nullptr, &len, aad, sizeof(aad)) == 1;
  size_t done = 0;
  while (setup && done < ct_len) {
    int piece = static_cast<int>(std::min<size_t>(ct_len - done, 1 << 30));
    setup = EVP_DecryptUpdate(ctx, p + done, &len, b + kBlobHeaderSize + done, piece) == 1;
    done += static_cast<size_t>(len);
  }
  setup = setup && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kBlobTagSize,
                                       const_cast<uint8_t*>(b + kBlobHeaderSize + ct_len)) == 1;
  if (!setup) {
    EVP_CIPHER_CTX_free(ctx);
    Die("AES-256-GCM open setup");
  }
  bool authentic = EVP_DecryptFinal_ex(ctx, p + done, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!authentic) {
    OPENSSL_cleanse(payload.data(), payload.size());
    return Corrupt(id,
                   "blob failed authentication (flipped bits, truncation, a different key, "
                   "or a blob stored under another chunk ID)");
  }
  if ((flags & kBlobFlagZstd) == 0) return payload;

  unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > kMaxPlainSize) {
    return Corrupt(id, "compressed payload has no valid zstd frame header");
  }
  std::string plain(static_cast<size_t>(size), '\0');
  size_t n =
      ZSTD_decompressDCtx(ThreadDCtx(), plain.data(), plain.size(), payload.data(), payload.size());
  if (ZSTD_isError(n) || n != size) {
    return Corrupt(id, absl::StrCat("compressed payload does not decompress: ",
                                    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
  }
  return plain;
}

}  // namespace shoebox
