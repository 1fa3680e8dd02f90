#include "common/crypto/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/blob.h"
#include "common/crypto/hash.h"
#include "common/crypto/sealbox.h"
#include "gtest/gtest.h"

namespace shoebox {
namespace {

namespace fs = std::filesystem;

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/shoebox_keys_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  mode_t ModeOf(const std::string& p) {
    struct stat st;
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  std::string dir_;
};

std::string Hex(const Key256& k) { return ToHex(ByteSpan(k.data(), k.size())); }

// Every 8-hex-character window of the key, and its raw bytes.
void ExpectNoKeyMaterial(absl::string_view amsg, const Key256& key) {
  const std::string_view msg = StdView(amsg);
  const std::string hex = Hex(key);
  for (size_t i = 0; i + 8 <= hex.size(); i += 2) {
    EXPECT_EQ(msg.find(hex.substr(i, 8)), std::string_view::npos) << msg;
  }
  EXPECT_EQ(msg.find(std::string_view(reinterpret_cast<const char*>(key.data()), 6)),
            std::string_view::npos);
}

TEST_F(KeysTest, DerivedKeysAreHkdfSha256WithDocumentedInfoStrings) {
  Key256 master;
  for (size_t i = 0; i < master.size(); ++i) master[i] = static_cast<uint8_t>(i);
  const DerivedKeys k = DeriveKeys(master);
  // Computed independently (Python hmac/hashlib HKDF, salt "shoebox-v1").
  EXPECT_EQ(Hex(k.data_key), "4510c894264c0e4cd4292246bc2bdcb021b637bba8ecd1d2d0b86f54aa6ea208");
  EXPECT_EQ(Hex(k.chunk_id_key),
            "180269617b9e9e62e9ca5f2354d6ec2c1493201a27a272e2a2ab33c27d7ab3a4");
  EXPECT_EQ(Hex(k.chunker_key), "d6b458ef588c0ccd8e1cc4f3042044a1cf66c4dec275a55e79d1c6b6210b96fe");
  EXPECT_EQ(Hex(k.catalog_key), "2915e402d5d2e75e889f7b5b6a9241b0f626561ad959d7749b0bb21e32fd930c");
  EXPECT_EQ(HkdfSha256(master.data(), master.size(), "shoebox data key"), k.data_key);
}

TEST_F(KeysTest, KeyFileIsCreated0600OnFirstUseAndReusedAfter) {
  const std::string path = dir_ + "/sub/master.key";
  const mode_t old = ::umask(0);  // creation must not depend on the umask
  auto k1 = LoadOrCreateMasterKey(path, true);
  ::umask(old);
  ASSERT_TRUE(k1.ok()) << k1.status();
  EXPECT_EQ(ModeOf(path), 0600);
  std::ifstream in(path);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, Hex(*k1) + "\n");
  auto k2 = LoadOrCreateMasterKey(path, true);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k1, *k2);
  auto k3 = LoadOrCreateMasterKey(path, false);
  ASSERT_TRUE(k3.ok());
  EXPECT_EQ(*k1, *k3);
}

TEST_F(KeysTest, ConcurrentFirstUseAgreesOnOneKey) {
  const std::string path = dir_ + "/race.key";
  std::vector<absl::StatusOr<Key256>> keys(6, absl::UnknownError("unset"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] { keys[i] = LoadOrCreateMasterKey(path, true); });
  }
  for (auto& t : threads) t.join();
  for (auto& k : keys) {
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_EQ(*k, *keys[0]);
  }
}

TEST_F(KeysTest, MissingKeyWithoutCreateIsNotFoundNamingThePath) {
  const std::string path = dir_ + "/absent.key";
  auto k = LoadOrCreateMasterKey(path, false);
  ASSERT_EQ(k.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(k.status().message().find(path), absl::string_view::npos);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(KeysTest, KeyFileReadableByOthersIsRefusedWithTheChmodToRun) {
  const std::string path = dir_ + "/open.key";
  auto k = LoadOrCreateMasterKey(path, true);
  ASSERT_TRUE(k.ok());
  for (mode_t mode : {0640, 0604, 0620, 0660, 0644}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto again = LoadOrCreateMasterKey(path, true);
    ASSERT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied) << std::oct << mode;
    EXPECT_NE(again.status().message().find("chmod 600 " + path), absl::string_view::npos)
        << again.status();
    ExpectNoKeyMaterial(again.status().message(), *k);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadOrCreateMasterKey(path, false).ok()) << "owner-only read access is fine";
}

TEST_F(KeysTest, MalformedKeyFileIsDataLossWithoutQuotingIt) {
  const std::string path = dir_ + "/bad.key";
  Key256 almost;
  for (size_t i = 0; i < almost.size(); ++i) almost[i] = static_cast<uint8_t>(0xc0 + i);
  const std::string text = Hex(almost).substr(0, 62) + "zz\n";
  ASSERT_TRUE(WriteSecretFile(path, text).ok());
  auto k = LoadOrCreateMasterKey(path, true);
  ASSERT_EQ(k.status().code(), absl::StatusCode::kDataLoss) << k.status();
  EXPECT_NE(k.status().message().find(path), absl::string_view::npos);
  ExpectNoKeyMaterial(k.status().message(), almost);
}

TEST_F(KeysTest, WriteSecretFileIs0600AndReadSecretFileRefusesOthers) {
  const std::string path = dir_ + "/secret";
  const mode_t old = ::umask(0);
  ASSERT_TRUE(WriteSecretFile(path, "token").ok());
  ::umask(old);
  EXPECT_EQ(ModeOf(path), 0600);
  auto r = ReadSecretFile(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "token");
  ASSERT_TRUE(WriteSecretFile(path, "replaced").ok());
  EXPECT_EQ(*ReadSecretFile(path), "replaced");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto refused = ReadSecretFile(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message().find("replaced"), absl::string_view::npos);
  // No temp files left next to it.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) entries += (e.path() != path);
  EXPECT_EQ(entries, 0);
}

TEST_F(KeysTest, NoKeyBytesInAnyErrorMessage) {
  const std::string path = dir_ + "/master.key";
  auto master = LoadOrCreateMasterKey(path, true);
  ASSERT_TRUE(master.ok());
  const DerivedKeys keys = DeriveKeys(*master);
  std::vector<absl::Status> errors;
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  errors.push_back(LoadOrCreateMasterKey(path, false).status());
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  {
    std::ofstream out(path, std::ios::app);
    out << "trailing garbage\n";
  }
  errors.push_back(LoadOrCreateMasterKey(path, false).status());
  BlobSealer sealer(keys.data_key);
  const ChunkId id = Sha256::Of("x");
  std::string blob = sealer.Seal(id, AsBytes(std::string("payload")));
  errors.push_back(sealer.Open(id, blob.substr(0, 5)).status());
  blob[15] ^= 1;
  errors.push_back(sealer.Open(id, blob).status());
  errors.push_back(BlobSealer(keys.catalog_key).Open(id, sealer.Seal(id, AsBytes("y"))).status());
  for (const absl::Status& st : errors) {
    ASSERT_FALSE(st.ok());
    for (const Key256* k : std::vector<const Key256*>{&*master, &keys.data_key, &keys.chunk_id_key,
                                                      &keys.chunker_key, &keys.catalog_key}) {
      ExpectNoKeyMaterial(st.message(), *k);
    }
  }
}

}  // namespace
}  // namespace shoebox
