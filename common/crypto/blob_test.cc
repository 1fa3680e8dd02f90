#include "common/crypto/blob.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

Key256 KeyOf(uint8_t b) {
  Key256 k;
  k.fill(b);
  return k;
}

std::string Random(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Text(size_t n) {
  std::string s;
  int i = 0;
  while (s.size() < n)
    s += "line " + std::to_string(i++) + ": the quick brown fox jumps over the lazy dog\n";
  s.resize(n);
  return s;
}

ChunkId IdOf(std::string_view s) { return Sha256::Of(s); }

void ExpectDataLossNaming(const absl::StatusOr<std::string>& r, const ChunkId& id,
                          const std::string& context) {
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << context << ": " << r.status();
  EXPECT_NE(r.status().message().find(ToHex(ByteSpan(id.data(), id.size()))),
            absl::string_view::npos)
      << context << ": " << r.status();
}

TEST(BlobTest, RoundTripsRawCompressedAndEmpty) {
  BlobSealer s(KeyOf(1));
  for (const std::string& plain :
       {std::string(), Random(1000, 1), Text(100000), Random(3 << 20, 2)}) {
    const ChunkId id = IdOf(plain);
    const std::string blob = s.Seal(id, AsBytes(plain));
    auto back = s.Open(id, blob);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

// SealTo writes the same format into an aligned buffer (reused, so a smaller
// blob after a larger one must not carry the larger one's tail).
TEST(BlobTest, SealToAnAlignedBufferOpensLikeSeal) {
  BlobSealer s(KeyOf(1));
  AlignedBytes buf;
  for (const std::string& plain :
       {Random(3 << 20, 2), std::string(), Random(1000, 1), Text(100000)}) {
    const ChunkId id = IdOf(plain);
    auto n = s.SealTo(id, AsBytes(plain), Compression::kAuto, &buf);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, s.Seal(id, AsBytes(plain)).size());
    auto back = s.Open(id, std::string_view(reinterpret_cast<const char*>(buf.data()), *n));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

TEST(BlobTest, LayoutIsVersionFlagsNonceCiphertextTag) {
  BlobSealer s(KeyOf(1));
  const std::string plain = Random(5000, 3);
  const std::string blob = s.Seal(IdOf(plain), AsBytes(plain));
  ASSERT_EQ(blob.size(), plain.size() + kBlobOverhead);
  EXPECT_EQ(static_cast<uint8_t>(blob[0]), kBlobVersion);
  EXPECT_EQ(static_cast<uint8_t>(blob[1]), 0) << "random data must be stored raw";
  EXPECT_EQ(blob.find(plain.substr(0, 64)), std::string::npos) << "plaintext visible in blob";
  // Fresh nonce each time: sealing twice gives different blobs.
  const std::string again = s.Seal(IdOf(plain), AsBytes(plain));
  EXPECT_NE(blob.substr(2, 12), again.substr(2, 12));
  EXPECT_NE(blob, again);
}

TEST(BlobTest, FlippingAnyByteOfASmallBlobIsDataLossNamingTheChunk) {
  BlobSealer s(KeyOf(2));
  for (const std::string& plain : {Random(200, 4), Text(4000)}) {
    const ChunkId id = IdOf(plain);
    const std::string blob = s.Seal(id, AsBytes(plain));
    for (size_t pos = 0; pos < blob.size(); ++pos) {
      for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
        std::string bad = blob;
        bad[pos] = static_cast<char>(bad[pos] ^ x);
        ExpectDataLossNaming(s.Open(id, bad), id, "flip at " + std::to_string(pos));
      }
    }
  }
}

TEST(BlobTest, FlippingBytesOfABigBlobIsDataLoss) {
  BlobSealer s(KeyOf(2));
  const std::string plain = Random(2 << 20, 5);
  const ChunkId id = IdOf(plain);
  const std::string blob = s.Seal(id, AsBytes(plain));
  std::mt19937_64 rng(9);
  std::vector<size_t> positions;
  for (size_t i = 0; i < 40; ++i) positions.push_back(i);
  for (size_t i = 0; i < 40; ++i) positions.push_back(blob.size() - 1 - i);
  for (size_t i = 0; i < 40; ++i) positions.push_back(rng() % blob.size());
  for (size_t pos : positions) {
    std::string bad = blob;
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (pos % 8)));
    ExpectDataLossNaming(s.Open(id, bad), id, "flip at " + std::to_string(pos));
  }
}

TEST(BlobTest, TruncationAndExtensionAreDataLoss) {
  BlobSealer s(KeyOf(3));
  for (const std::string& plain : {Random(300, 6), Text(5000)}) {
    const ChunkId id = IdOf(plain);
    const std::string blob = s.Seal(id, AsBytes(plain));
    for (size_t len = 0; len < blob.size(); ++len) {
      ExpectDataLossNaming(s.Open(id, blob.substr(0, len)), id,
                           "truncated to " + std::to_string(len));
    }
    ExpectDataLossNaming(s.Open(id, blob + "x"), id, "extended");
  }
}

TEST(BlobTest, WrongKeyIsDataLoss) {
  const std::string plain = Text(3000);
  const ChunkId id = IdOf(plain);
  const std::string blob = BlobSealer(KeyOf(4)).Seal(id, AsBytes(plain));
  ExpectDataLossNaming(BlobSealer(KeyOf(5)).Open(id, blob), id, "wrong key");
}

TEST(BlobTest, BlobStoredUnderAnotherIdIsDataLossNamingTheRequestedChunk) {
  BlobSealer s(KeyOf(6));
  const std::string a = Random(1000, 7), b = Random(1000, 8);
  const std::string blob_b = s.Seal(IdOf(b), AsBytes(b));
  ExpectDataLossNaming(s.Open(IdOf(a), blob_b), IdOf(a), "swapped");
}

TEST(BlobTest, FlagsAreAuthenticated) {
  BlobSealer s(KeyOf(7));
  const std::string raw_plain = Random(1000, 9);
  const std::string text = Text(20000);
  std::string raw_blob = s.Seal(IdOf(raw_plain), AsBytes(raw_plain));
  std::string zstd_blob = s.Seal(IdOf(text), AsBytes(text));
  ASSERT_EQ(raw_blob[1], 0);
  ASSERT_EQ(zstd_blob[1], static_cast<char>(kBlobFlagZstd));
  raw_blob[1] = static_cast<char>(kBlobFlagZstd);  // claims compression
  zstd_blob[1] = 0;                                // hides compression
  ExpectDataLossNaming(s.Open(IdOf(raw_plain), raw_blob), IdOf(raw_plain), "flag set");
  ExpectDataLossNaming(s.Open(IdOf(text), zstd_blob), IdOf(text), "flag cleared");
}

TEST(BlobTest, AlreadyCompressedFormatsAreNeverCompressed) {
  BlobSealer s(KeyOf(8));
  // Each magic followed by highly compressible bytes: only the magic decides.
  const std::vector<std::pair<std::string, std::string>> magics = {
      {"jpeg", std::string("\xff\xd8\xff\xe0\x00\x10JFIF", 10)},
      {"png", std::string("\x89PNG\r\n\x1a\n", 8)},
      {"mp4", std::string("\x00\x00\x00\x18"
                          "ftypmp42",
                          12)},
      {"mov", std::string("\x00\x00\x00\x14"
                          "ftypqt  ",
                          12)},
      {"heic", std::string("\x00\x00\x00\x18"
                           "ftypheic",
                           12)},
      {"zip", std::string("PK\x03\x04", 4)},
      {"gzip", std::string("\x1f\x8b\x08", 3)},
      {"webp", std::string("RIFF\x00\x00\x00\x00WEBP", 12)},
  };
  for (const auto& [name, magic] : magics) {
    const std::string plain = magic + std::string(50000, 'a');
    EXPECT_TRUE(LooksCompressed(AsBytes(plain))) << name;
    const std::string blob = s.Seal(IdOf(plain), AsBytes(plain));
    EXPECT_EQ(blob[1], 0) << name << " was compressed";
    EXPECT_EQ(blob.size(), plain.size() + kBlobOverhead) << name;
    auto back = s.Open(IdOf(plain), blob);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, plain);
  }
}

TEST(BlobTest, TextIsCompressed) {
  BlobSealer s(KeyOf(9));
  for (size_t n : {size_t{4000}, size_t{1 << 20}}) {
    const std::string plain = Text(n);
    EXPECT_FALSE(LooksCompressed(AsBytes(plain)));
    const std::string blob = s.Seal(IdOf(plain), AsBytes(plain));
    EXPECT_EQ(blob[1], static_cast<char>(kBlobFlagZstd));
    EXPECT_LT(blob.size(), plain.size() / 4);
    auto back = s.Open(IdOf(plain), blob);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

TEST(BlobTest, CompressionSavingUnderThreePercentIsStoredRaw) {
  BlobSealer s(KeyOf(10));
  // ~1% compressible: stays raw. ~6%: compressed. (Below 128 KiB, so the
  // whole payload is tried rather than a sample.)
  const std::string one_percent = Random(100000, 11) + std::string(1000, '\0');
  const std::string six_percent = Random(100000, 12) + std::string(6500, '\0');
  EXPECT_EQ(s.Seal(IdOf(one_percent), AsBytes(one_percent))[1], 0);
  EXPECT_EQ(s.Seal(IdOf(six_percent), AsBytes(six_percent))[1], static_cast<char>(kBlobFlagZstd));
}

TEST(BlobTest, CompressionNeverSkipsWhenAsked) {
  BlobSealer s(KeyOf(11));
  const std::string plain = Text(50000);
  const std::string blob = s.Seal(IdOf(plain), AsBytes(plain), Compression::kNever);
  EXPECT_EQ(blob[1], 0);
  EXPECT_EQ(blob.size(), plain.size() + kBlobOverhead);
}

TEST(BlobTest, UnknownVersionIsDataLoss) {
  BlobSealer s(KeyOf(12));
  const std::string plain = Random(100, 13);
  std::string blob = s.Seal(IdOf(plain), AsBytes(plain));
  blob[0] = 2;
  auto r = s.Open(IdOf(plain), blob);
  ExpectDataLossNaming(r, IdOf(plain), "version 2");
  EXPECT_NE(r.status().message().find("version"), absl::string_view::npos);
}

TEST(BlobTest, DataKeyNeverAppearsInErrors) {
  Key256 key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x30 + i);
  BlobSealer s(key);
  const std::string key_hex = ToHex(ByteSpan(key.data(), key.size()));
  const std::string plain = Text(1000);
  std::string blob = s.Seal(IdOf(plain), AsBytes(plain));
  blob[20] ^= 1;
  auto r = s.Open(IdOf(plain), blob);
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  for (size_t i = 0; i + 8 <= key_hex.size(); i += 2) {
    EXPECT_EQ(msg.find(key_hex.substr(i, 8)), std::string::npos) << msg;
  }
  EXPECT_EQ(msg.find(std::string(reinterpret_cast<const char*>(key.data()), 8)), std::string::npos);
}

}  // namespace
}  // namespace shoebox
