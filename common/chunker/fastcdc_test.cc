#include "common/chunker/fastcdc.h"

#include <bit>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shoebox {
namespace {

// Deterministic test input: SplitMix64 from `seed`, 8 bytes little-endian per
// step. Pinned here so golden vectors do not depend on a library's PRNG.
std::string PseudoRandom(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t b = 0; b < 8 && i + b < n; ++b) out[i + b] = static_cast<char>(z >> (8 * b));
  }
  return out;
}

Key256 TestMaster() {
  Key256 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

std::vector<uint64_t> CutWhole(const ChunkerParams& p, const GearTable& g,
                               const std::string& data) {
  Chunker c(p, g);
  std::vector<uint64_t> cuts;
  c.Feed(AsBytes(data), &cuts);
  if (auto last = c.Finish()) cuts.push_back(*last);
  return cuts;
}

ChunkerParams SmallParams() { return ChunkerParams{2048, 8192, 32768}; }

TEST(FastCdcTest, GearTableIsAesCtrKeystreamLittleEndian) {
  const DerivedKeys keys = DeriveKeys(TestMaster());
  const GearTable g = MakeGearTable(keys.chunker_key);
  EXPECT_EQ(g, MakeGearTable(keys.chunker_key));
  Key256 other = keys.chunker_key;
  other[0] ^= 1;
  EXPECT_NE(g, MakeGearTable(other));
  // Golden: pins the derivation (HKDF info string, AES-256-CTR, zero IV,
  // little-endian 64-bit words) described in docs/formats.md.
  EXPECT_EQ(g[0], 0x2fcfde825dc45216ull);
  EXPECT_EQ(g[1], 0x6be21cfdba78016eull);
  EXPECT_EQ(g[255], 0x489c74000ad8f41bull);
}

TEST(FastCdcTest, MasksHaveNormalisationLevelTwoBitCounts) {
  EXPECT_EQ(std::popcount(FastCdcMask(22)), 22);
  EXPECT_EQ(std::popcount(FastCdcMask(18)), 18);
  EXPECT_EQ(FastCdcMask(22) & 0xffff, 0u) << "mask bits must lie in 16..63";
  EXPECT_EQ(FastCdcMask(18) & 0xffff, 0u);
  EXPECT_NE(FastCdcMask(22) & (1ull << 63), 0u);
  // Pinned (docs/formats.md lists the bit positions).
  EXPECT_EQ(FastCdcMask(22), 0xaaa554aaa5540000ull);
  EXPECT_EQ(FastCdcMask(18), 0xa4a4a4a4a4a40000ull);
}

TEST(FastCdcTest, ValidateRejectsBadParameters) {
  EXPECT_TRUE(ValidateChunkerParams(ChunkerParams{}).ok());
  EXPECT_TRUE(ValidateChunkerParams(SmallParams()).ok());
  EXPECT_EQ(ValidateChunkerParams({256 * 1024, 1000 * 1000, 4 << 20}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateChunkerParams({2 << 20, 1 << 20, 4 << 20}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateChunkerParams({256 * 1024, 1 << 20, 512 * 1024}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateChunkerParams({0, 1 << 20, 4 << 20}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FastCdcTest, RandomBufferSplitsGiveTheSameCutsAsOneFeed) {
  const GearTable g = MakeGearTable(DeriveKeys(TestMaster()).chunker_key);
  std::mt19937_64 rng(7);
  for (const ChunkerParams& p : {SmallParams(), ChunkerParams{}}) {
    const std::string data = PseudoRandom(p.avg_size == 8192 ? (1 << 20) : (12 << 20), 99);
    const std::vector<uint64_t> whole = CutWhole(p, g, data);
    ASSERT_GT(whole.size(), 3u);
    for (int iter = 0; iter < 12; ++iter) {
      // Mix tiny pieces (1..16 bytes) with large ones, to hit every phase edge.
      const size_t max_piece = (iter % 3 == 0) ? 17 : (iter % 3 == 1) ? 70000 : (3 << 20);
      Chunker c(p, g);
      std::vector<uint64_t> cuts;
      size_t off = 0;
      while (off < data.size()) {
        size_t n = std::min(data.size() - off, 1 + rng() % max_piece);
        c.Feed(AsBytes(std::string_view(data).substr(off, n)), &cuts);
        off += n;
        ASSERT_EQ(c.position(), off);
      }
      if (auto last = c.Finish()) cuts.push_back(*last);
      ASSERT_EQ(cuts, whole) << "iteration " << iter << " max piece " << max_piece;
    }
  }
}

TEST(FastCdcTest, ChunkSizesStayWithinMinAndMax) {
  const GearTable g = MakeGearTable(DeriveKeys(TestMaster()).chunker_key);
  const ChunkerParams p = SmallParams();
  const std::string data = PseudoRandom(4 << 20, 5);
  const std::vector<uint64_t> cuts = CutWhole(p, g, data);
  uint64_t prev = 0;
  double sum = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    const uint64_t len = cuts[i] - prev;
    if (i + 1 < cuts.size()) {
      EXPECT_GE(len, p.min_size);
    }
    EXPECT_LE(len, p.max_size);
    sum += static_cast<double>(len);
    prev = cuts[i];
  }
  EXPECT_EQ(cuts.back(), data.size());
  // Normalised chunking keeps the mean near avg_size (loose bounds: this is
  // a sanity check of the masks, not a statistical test).
  const double mean = sum / static_cast<double>(cuts.size());
  EXPECT_GT(mean, p.avg_size * 0.6);
  EXPECT_LT(mean, p.avg_size * 1.6);
}

TEST(FastCdcTest, ConstantInputIsCutAtMaxSize) {
  const GearTable g = MakeGearTable(DeriveKeys(TestMaster()).chunker_key);
  const ChunkerParams p;
  const std::string zeros(10 << 20, '\0');
  EXPECT_THAT(CutWhole(p, g, zeros), ::testing::ElementsAre(4u << 20, 8u << 20, 10u << 20));
}

TEST(FastCdcTest, InsertionNearTheStartKeepsLaterChunks) {
  const GearTable g = MakeGearTable(DeriveKeys(TestMaster()).chunker_key);
  const ChunkerParams p = SmallParams();
  const std::string data = PseudoRandom(2 << 20, 11);
  std::string shifted = data;
  shifted.insert(100, "inserted bytes");
  auto chunk_set = [&](const std::string& d) {
    std::set<std::string> s;
    uint64_t prev = 0;
    for (uint64_t c : CutWhole(p, g, d)) {
      s.insert(d.substr(prev, c - prev));
      prev = c;
    }
    return s;
  };
  const auto a = chunk_set(data), b = chunk_set(shifted);
  size_t shared = 0;
  for (const auto& c : a) shared += b.count(c);
  EXPECT_GE(shared + 3, a.size()) << "an insertion should change only the chunks around it";
}

TEST(FastCdcTest, DifferentKeysGiveDifferentCuts) {
  const DerivedKeys k1 = DeriveKeys(TestMaster());
  Key256 m2 = TestMaster();
  m2[31] ^= 0x80;
  const DerivedKeys k2 = DeriveKeys(m2);
  const std::string data = PseudoRandom(1 << 20, 3);
  EXPECT_NE(CutWhole(SmallParams(), MakeGearTable(k1.chunker_key), data),
            CutWhole(SmallParams(), MakeGearTable(k2.chunker_key), data));
}

TEST(FastCdcTest, EmptyStreamAndStreamEndingOnACutHaveNoFinalChunk) {
  const GearTable g = MakeGearTable(DeriveKeys(TestMaster()).chunker_key);
  Chunker c(ChunkerParams{}, g);
  EXPECT_FALSE(c.Finish().has_value());
  std::vector<uint64_t> cuts;
  c.Feed(AsBytes(std::string(4 << 20, '\0')), &cuts);
  EXPECT_THAT(cuts, ::testing::ElementsAre(4u << 20));
  EXPECT_FALSE(c.Finish().has_value());
  c.Reset();
  EXPECT_EQ(c.position(), 0u);
  c.Feed(AsBytes(std::string(10, 'x')), &cuts);
  EXPECT_EQ(c.Finish(), std::optional<uint64_t>(10));
}

// Golden vectors, cross-checked against the independent Python reference in
// docs/formats.md. If any of these change, chunk boundaries or IDs of every
// existing backup change. Do not update them without a format version bump.
TEST(FastCdcTest, GoldenCutsAndChunkIdsDefaultParams) {
  const DerivedKeys keys = DeriveKeys(TestMaster());
  const GearTable g = MakeGearTable(keys.chunker_key);
  const std::string data = PseudoRandom(16 << 20, 42);
  const std::vector<uint64_t> cuts = CutWhole(ChunkerParams{}, g, data);
  EXPECT_THAT(cuts,
              ::testing::ElementsAreArray(std::vector<uint64_t>{
                  1088612, 2149723, 3494340, 5132750, 5562634, 6619187, 6957094, 8070530, 8848703,
                  10011666, 11137105, 12339652, 13678185, 14799830, 15553533, 16777216}));
  HmacSha256 id(ByteSpan(keys.chunk_id_key.data(), keys.chunk_id_key.size()));
  std::vector<std::string> ids;
  uint64_t prev = 0;
  for (uint64_t c : cuts) {
    const Digest d = id.Compute(std::string_view(data).substr(prev, c - prev));
    ids.push_back(ToHex(ByteSpan(d.data(), d.size())));
    prev = c;
  }
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.front(), "835978c1877826c8f81b4a48e8ce7d83f063398454e2cd6a2716e957c5fc173a");
  EXPECT_EQ(ids.back(), "5348eff15566fa01211c7fead7cb3e5ec7da3dcf203495856316b5ec5b0e66bc");
}

TEST(FastCdcTest, GoldenCutsSmallParams) {
  const GearTable g = MakeGearTable(DeriveKeys(TestMaster()).chunker_key);
  const std::string data = PseudoRandom(128 << 10, 42);
  EXPECT_THAT(CutWhole(SmallParams(), g, data), ::testing::ElementsAreArray(std::vector<uint64_t>{
                                                    10350, 18565, 26844, 36413, 46451, 55578, 60797,
                                                    69950, 82347, 94160, 111335, 125299, 131072}));
}

}  // namespace
}  // namespace shoebox
