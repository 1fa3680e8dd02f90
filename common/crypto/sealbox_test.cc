#include "common/crypto/sealbox.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

TEST(SealBoxTest, SealedSecretOpensWithTheKeyPairAndContext) {
  const SealKeyPair kp = GenerateSealKeyPair();
  const std::string secret = "access_key=AKIA...;secret=abc";
  auto box = SealToPublicKey(kp.public_key, AsBytes(secret), "dest:photos-s3");
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(box->size(), secret.size() + kSealBoxOverhead);
  EXPECT_EQ(box->find("secret=abc"), std::string::npos);
  auto opened = OpenSealedBox(kp, *box, "dest:photos-s3");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, secret);
  // Fresh ephemeral key per box.
  auto box2 = SealToPublicKey(kp.public_key, AsBytes(secret), "dest:photos-s3");
  ASSERT_TRUE(box2.ok());
  EXPECT_NE(box->substr(1, 32), box2->substr(1, 32));
}

TEST(SealBoxTest, WrongKeyOrContextIsDataLoss) {
  const SealKeyPair kp = GenerateSealKeyPair();
  const SealKeyPair other = GenerateSealKeyPair();
  auto box = SealToPublicKey(kp.public_key, AsBytes("pw"), "dest:a");
  ASSERT_TRUE(box.ok());
  auto wrong_key = OpenSealedBox(other, *box, "dest:a");
  EXPECT_EQ(wrong_key.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(wrong_key.status().message().find("dest:a"), absl::string_view::npos);
  EXPECT_EQ(OpenSealedBox(kp, *box, "dest:b").status().code(), absl::StatusCode::kDataLoss);
}

TEST(SealBoxTest, AnyFlippedByteOrTruncationIsDataLoss) {
  const SealKeyPair kp = GenerateSealKeyPair();
  auto box = SealToPublicKey(kp.public_key, AsBytes("password123"), "ctx");
  ASSERT_TRUE(box.ok());
  for (size_t i = 0; i < box->size(); ++i) {
    std::string bad = *box;
    bad[i] ^= 0x01;
    auto r = OpenSealedBox(kp, bad, "ctx");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss)
        << "flip at " << i << ": " << r.status();
  }
  for (size_t len = 0; len < box->size(); ++len) {
    EXPECT_EQ(OpenSealedBox(kp, box->substr(0, len), "ctx").status().code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(SealBoxTest, InvalidPublicKeyIsRefused) {
  SealPublicKey zero{};  // a low-order point: the shared secret would be zero
  auto box = SealToPublicKey(zero, AsBytes("x"), "ctx");
  EXPECT_EQ(box.status().code(), absl::StatusCode::kInvalidArgument) << box.status();
}

TEST(SealBoxTest, PublicKeyHexRoundTrips) {
  const SealKeyPair kp = GenerateSealKeyPair();
  const std::string hex = SealPublicKeyToHex(kp.public_key);
  EXPECT_EQ(hex.size(), 64u);
  auto back = SealPublicKeyFromHex(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, kp.public_key);
  EXPECT_EQ(SealPublicKeyFromHex("abcd").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SealBoxTest, KeyPairFileIs0600AndRefusedWhenOthersCanRead) {
  std::string tmpl = "/tmp/shoebox_sealbox_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/pool.key";
  auto created = LoadOrCreateSealKeyPair(path);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = LoadSealKeyPair(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key, created->public_key);
  EXPECT_EQ(loaded->private_key, created->private_key);
  auto again = LoadOrCreateSealKeyPair(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key, created->public_key);
  // A box sealed to the saved public key opens with the loaded pair.
  auto box = SealToPublicKey(created->public_key, AsBytes("s3cret"), "c");
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(*OpenSealedBox(*loaded, *box, "c"), "s3cret");

  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto refused = LoadSealKeyPair(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("chmod 600 " + path), absl::string_view::npos);
  const std::string priv_hex = ToHex(ByteSpan(created->private_key.data(), 32));
  EXPECT_EQ(refused.status().message().find(priv_hex.substr(0, 8)), absl::string_view::npos);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace shoebox
