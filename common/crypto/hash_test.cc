#include "common/crypto/hash.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

std::string Hex(const Digest& d) { return ToHex(ByteSpan(d.data(), d.size())); }

TEST(HashTest, Sha256MatchesKnownVectors) {
  EXPECT_EQ(Hex(Sha256::Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256::Of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, IncrementalSha256EqualsOneShotForAnySplit) {
  std::mt19937_64 rng(1);
  std::string data(1 << 20, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const Digest whole = Sha256::Of(data);
  Sha256 h;
  for (int iter = 0; iter < 5; ++iter) {
    size_t off = 0;
    while (off < data.size()) {
      size_t n = std::min(data.size() - off, 1 + rng() % 100000);
      h.Update(std::string_view(data).substr(off, n));
      off += n;
    }
    EXPECT_EQ(h.Final(), whole) << "Final() must also reset for reuse";
  }
}

TEST(HashTest, HmacSha256MatchesRfc4231) {
  // RFC 4231 test case 2.
  HmacSha256 h(AsBytes("Jefe"));
  EXPECT_EQ(Hex(h.Compute("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: key longer than the block size.
  HmacSha256 big(AsBytes(std::string(131, '\xaa')));
  EXPECT_EQ(Hex(big.Compute("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HashTest, HmacIsThreadSafeAndRepeatable) {
  HmacSha256 h(AsBytes("key"));
  const Digest expected = h.Compute("message");
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) mismatches += h.Compute("message") != expected;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_NE(h.Compute("message2"), expected);
}

TEST(HashTest, DigestFromStringChecksSize) {
  Digest d;
  EXPECT_FALSE(DigestFromString("short", &d));
  const Digest x = Sha256::Of("x");
  ASSERT_TRUE(DigestFromString(DigestToString(x), &d));
  EXPECT_EQ(d, x);
}

TEST(HashTest, SecureRandomFillsDifferentBytes) {
  uint8_t a[32] = {}, b[32] = {};
  SecureRandom(a, sizeof(a));
  SecureRandom(b, sizeof(b));
  EXPECT_NE(std::memcmp(a, b, sizeof(a)), 0);
}

}  // namespace
}  // namespace shoebox

namespace shoebox {
namespace {

TEST(HashTest, StreamingHmacEqualsOneShotAndResetsAfterFinal) {
  HmacSha256 mac(AsBytes("Jefe"));
  HmacSha256Stream s(mac);
  s.Update("what do ya ");
  s.Update("");
  s.Update("want for nothing?");
  EXPECT_EQ(ToHex(ByteSpan(s.Final().data(), 32)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  s.Update("second message");
  EXPECT_EQ(s.Final(), mac.Compute("second message"));
  EXPECT_EQ(s.Final(), mac.Compute(""));
}

}  // namespace
}  // namespace shoebox

namespace shoebox {
namespace {

TEST(HashTest, ManyHmacKeysInterleavedOnOneThreadStayCorrect) {
  // More instances than the per-thread context cache holds, used in turns,
  // created and destroyed in between: each must keep computing under its key.
  std::vector<std::unique_ptr<HmacSha256>> macs;
  std::vector<Digest> expected;
  for (int i = 0; i < 7; ++i) {
    const std::string key = "key-" + std::to_string(i);
    macs.push_back(std::make_unique<HmacSha256>(AsBytes(key)));
    HmacSha256Stream s(*macs.back());
    s.Update("payload");
    expected.push_back(s.Final());
  }
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < macs.size(); ++i) {
      EXPECT_EQ(macs[i]->Compute("payload"), expected[i]) << "key " << i << " round " << round;
    }
    macs[round] = std::make_unique<HmacSha256>(AsBytes("key-" + std::to_string(round)));
  }
  std::set<Digest> distinct(expected.begin(), expected.end());
  EXPECT_EQ(distinct.size(), expected.size());
}

}  // namespace
}  // namespace shoebox
