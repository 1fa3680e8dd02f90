// TOTP (RFC 6238) and Base32 (RFC 4648): every test vector of RFC 6238
// Appendix B and of RFC 4648 section 10, the window, replay, the URI.
#include "cli/web/totp.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shoebox::cli::web {
namespace {

// RFC 6238 Appendix B: the seeds are the ASCII "12345678901234567890"
// repeated to the hash's length (20, 32, 64 bytes).
const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

struct Vector {
  int64_t time;
  std::string code;
  TotpHash hash;
};

TEST(WebTotp, AllTestVectorsOfRfc6238AppendixB) {
  const std::vector<Vector> vectors = {
      {59, "94287082", TotpHash::kSha1},
      {59, "46119246", TotpHash::kSha256},
      {59, "90693936", TotpHash::kSha512},
      {1111111109, "07081804", TotpHash::kSha1},
      {1111111109, "68084774", TotpHash::kSha256},
      {1111111109, "25091201", TotpHash::kSha512},
      {1111111111, "14050471", TotpHash::kSha1},
      {1111111111, "67062674", TotpHash::kSha256},
      {1111111111, "99943326", TotpHash::kSha512},
      {1234567890, "89005924", TotpHash::kSha1},
      {1234567890, "91819424", TotpHash::kSha256},
      {1234567890, "93441116", TotpHash::kSha512},
      {2000000000, "69279037", TotpHash::kSha1},
      {2000000000, "90698825", TotpHash::kSha256},
      {2000000000, "38618901", TotpHash::kSha512},
      {20000000000, "65353130", TotpHash::kSha1},
      {20000000000, "77737706", TotpHash::kSha256},
      {20000000000, "47863826", TotpHash::kSha512},
  };
  ASSERT_EQ(vectors.size(), 18u);
  for (const Vector& v : vectors) {
    const std::string& key = v.hash == TotpHash::kSha1     ? kSeed20
                             : v.hash == TotpHash::kSha256 ? kSeed32
                                                           : kSeed64;
    EXPECT_EQ(TotpCode(key, v.time, 8, v.hash), v.code) << "T=" << v.time;
    // The 6-digit code is the same number mod 10^6.
    EXPECT_EQ(TotpCode(key, v.time, 6, v.hash), v.code.substr(2)) << "T=" << v.time;
    // And the matcher accepts it at that time.
    EXPECT_EQ(TotpMatch(key, v.code, v.time, 0, 8, v.hash), TotpStep(v.time)) << "T=" << v.time;
  }
  // RFC 6238's table gives the step in hex: 0x23523EC for T=1111111109.
  EXPECT_EQ(TotpStep(1111111109), 0x23523EC);
  EXPECT_EQ(TotpStep(20000000000), 0x27BC86AA);
}

TEST(WebTotp, Rfc4226HotpValues) {
  // RFC 4226 Appendix D, counters 0..9.
  const std::vector<std::string> want = {"755224", "287082", "359152", "969429", "338314",
                                         "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t c = 0; c < want.size(); ++c) {
    EXPECT_EQ(Hotp(kSeed20, c, 6, TotpHash::kSha1), want[c]) << c;
  }
}

TEST(WebTotp, WindowIsOneStepEitherSide) {
  const int64_t now = 1800000000;  // a multiple of 30
  const std::string prev = TotpCode(kSeed20, now - 30);
  const std::string cur = TotpCode(kSeed20, now);
  const std::string next = TotpCode(kSeed20, now + 30);
  EXPECT_EQ(TotpMatch(kSeed20, prev, now, 0), TotpStep(now) - 1);
  EXPECT_EQ(TotpMatch(kSeed20, cur, now + 29, 0), TotpStep(now));
  EXPECT_EQ(TotpMatch(kSeed20, next, now, 0), TotpStep(now) + 1);
  EXPECT_EQ(TotpMatch(kSeed20, TotpCode(kSeed20, now - 60), now, 0), std::nullopt);
  EXPECT_EQ(TotpMatch(kSeed20, TotpCode(kSeed20, now + 60), now, 0), std::nullopt);
}

TEST(WebTotp, ReplayedAndMalformedCodesAreRefused) {
  const int64_t now = 1800000000;
  const std::string cur = TotpCode(kSeed20, now);
  const std::optional<int64_t> step = TotpMatch(kSeed20, cur, now, 0);
  ASSERT_TRUE(step.has_value());
  // The same code again, with its step recorded as used: refused.
  EXPECT_EQ(TotpMatch(kSeed20, cur, now + 5, *step), std::nullopt);
  // An older step's code after a newer one was used: refused.
  EXPECT_EQ(TotpMatch(kSeed20, TotpCode(kSeed20, now - 30), now, *step), std::nullopt);
  // The next step's code is still good.
  EXPECT_EQ(TotpMatch(kSeed20, TotpCode(kSeed20, now + 30), now + 30, *step), *step + 1);
  EXPECT_EQ(TotpMatch(kSeed20, "", now, 0), std::nullopt);
  EXPECT_EQ(TotpMatch(kSeed20, cur.substr(1), now, 0), std::nullopt);
  EXPECT_EQ(TotpMatch(kSeed20, cur + "0", now, 0), std::nullopt);
  EXPECT_EQ(TotpMatch(kSeed20, "12345a", now, 0), std::nullopt);
  // Another key's code does not match.
  EXPECT_EQ(TotpMatch(kSeed32, cur, now, 0), std::nullopt);
}

TEST(WebTotp, Base32IsRfc4648) {
  // RFC 4648 section 10 (without the '=' padding, which the URI omits).
  const std::vector<std::pair<std::string, std::string>> v = {{"", ""},
                                                              {"f", "MY"},
                                                              {"fo", "MZXQ"},
                                                              {"foo", "MZXW6"},
                                                              {"foob", "MZXW6YQ"},
                                                              {"fooba", "MZXW6YTB"},
                                                              {"foobar", "MZXW6YTBOI"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(Base32Encode(plain), enc);
    EXPECT_EQ(*Base32Decode(enc), plain);
  }
  EXPECT_EQ(*Base32Decode("mzxw6ytboi======"), "foobar");
  EXPECT_EQ(*Base32Decode("MZXW 6YTB OI"), "foobar");
  EXPECT_FALSE(Base32Decode("MZXW1").ok());  // '1' is not in the alphabet
  EXPECT_EQ(Base32Encode(kSeed20), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(WebTotp, SecretsAreRandomAndTheUriNamesEverything) {
  const std::string a = NewTotpSecret(), b = NewTotpSecret();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, b);
  EXPECT_EQ(TotpUri("ana maria", kSeed20),
            "otpauth://totp/Shoebox:ana%20maria?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=Shoebox&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace shoebox::cli::web
