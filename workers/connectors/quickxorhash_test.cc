#include "workers/connectors/quickxorhash.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"

namespace shoebox::worker {
namespace {

// Known vectors: rclone's backend/onedrive/quickxorhash tests (input and
// digest in base64), which rclone checks against OneDrive itself.
struct Vector {
  size_t size;
  const char* in;
  const char* out;
};
const Vector kVectors[] = {
    {0, "", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    {1, "Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="},
    {2, "tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="},
    {3, "0pZP", "0rDEEwAAAAAAAAAAAwAAAAAAAAA="},
    {8, "/aNzzCFPS/A=", "/RjFHJgRgicsAR4ACAAAAAAAAAA="},
    {16, "2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="},
    {20, "T6LYJIfDh81JrAK309H2JMJTXis=", "zBTHrspn3mEcohlJdIUAbjGNaNg="},
    {21, "DWAAX5/CIfrmErgZa8ot6ZraeSbu", "LR2Z0PjuRYGKQB/mhQAuMrAGZbQ="},
    {33, "qQ70RB++JAR5ljNv3lJt1PpqETPsckopfonItu18Cr3E", "FkJaeg/0Z5+euShYlLpE2tJh+Lo="},
    {64, "Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==",
     "n1anP5NfvD4XDYWIeRPW3ZkPv1Y="},
    {111,
     "jyibxJSzO6ZiZ0O1qe3tG/bvIAYssvukh9suIT5wEy1JBINVgPiqdsTW0cOpP0aUfP7mgqLfADkzI/m/"
     "GgCuVhr8oFLrOCoTx1/psBOWwhltCbhUx51Icm9aH8tY4Z3ccU+6BKpYQkLCy0B/A9Zc",
     "hZfLIilSITC6N3e3tQ/iSgEzkto="},
    {222,
     "PfxMcUd0vIW6VbHG/uj/"
     "Y0W6qEoKmyBD0nYebEKazKaKG+UaDqBEcmQjbfQeVnVLuodMoPp7P7TR1htX5n2VnkHh22xDyoJ8C/"
     "ZQKiSNqQfXvh83judf4RVr9exJCud8Uvgip6aVZTaPrJHVjQhMCp/"
     "dEnGvqg0oN5OVkM2qqAXvA0teKUDhgNM71sDBVBCGXxNOR2bpbD1iM4dnuT0ey4L+"
     "loXEHTL0fqMeUcEi2asgImnlNakwenDzz0x57aBwyq3AspCFGB1ncX4yYCr/OaCcS5OKi/00WH+wNQU3",
     "QX/YEpG0gDsmhEpCdWhsxDzsfVE="},
    {333,
     "w0LGhqU1WXFbdavqDE4kAjEzWLGGzmTNikzqnsiXHx2KRReKVTxkv27u3UcEz9+"
     "lbMvYl4xFf2Z4aE1xRBBNd1Ke5C0zToSaYw5o4B/7X99nKK2/"
     "XaUX1byLow2aju2XJl2OpKpJg+tSJ2fmjIJTkfuYUz574dFX6/VXxSxwGH/"
     "xQEAKS5TCsBK3CwnuG1p5SAsQq3gGVozDWyjEBcWDMdy8/AIFrj/y03Lfc/"
     "RNRCQTAfZbnf2QwV7sluw4fH3XJr07UoD0YqN+"
     "7XZzidtrwqMY26fpLZnyZjnBEt1FAZWO7RnKG5asg8xRk9YaDdedXdQSJAOy6bWEWlABj+tVAigBxavaluUH8LOj+"
     "yfCFldJjNLdi90fVHkUD/m4Mr5OtmupNMXPwuG3EQlqWUVpQoYpUYKLsk7a5Mvg6UFkiH596y5IbJEVCI1Kb3D1",
     "e3+wo77iKcILiZegnzyUNcjCdoQ="},
};

std::string Unb64(const char* s) {
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(s, &out)) << s;
  return out;
}

TEST(QuickXorHash, KnownVectors) {
  for (const Vector& v : kVectors) {
    std::string in = Unb64(v.in);
    ASSERT_EQ(in.size(), v.size);
    EXPECT_EQ(QuickXorHash::Base64Of(in), v.out) << "size " << v.size;
  }
}

TEST(QuickXorHash, PiecewiseUpdatesGiveTheSameDigest) {
  for (size_t block : {1, 2, 7, 64, 159, 160, 161, 320, 500}) {
    for (const Vector& v : kVectors) {
      std::string in = Unb64(v.in);
      QuickXorHash h;
      for (size_t i = 0; i < in.size(); i += block) h.Update(std::string_view(in).substr(i, block));
      EXPECT_EQ(h.Base64(), v.out) << "size " << v.size << " block " << block;
    }
  }
}

TEST(QuickXorHash, SavedStateContinuesTheHash) {
  std::string in = Unb64(kVectors[sizeof(kVectors) / sizeof(kVectors[0]) - 1].in);
  QuickXorHash a;
  a.Update(std::string_view(in).substr(0, 100));
  QuickXorHash b;
  ASSERT_TRUE(b.RestoreState(a.SaveState()));
  b.Update(std::string_view(in).substr(100));
  EXPECT_EQ(b.Base64(), QuickXorHash::Base64Of(in));
  EXPECT_FALSE(b.RestoreState("short"));
}

TEST(QuickXorHash, LargeInputFoldsLikeBytewise) {
  std::string big(1000003, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  QuickXorHash whole;
  whole.Update(big);
  QuickXorHash bytewise;
  for (char c : big) bytewise.Update(std::string_view(&c, 1));
  EXPECT_EQ(whole.Digest(), bytewise.Digest());
}

}  // namespace
}  // namespace shoebox::worker
