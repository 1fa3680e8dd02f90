// The S3 chunk-store backend: location parsing (unit-level) and the shared
// chunk-store conformance suite against moto and s3rver.
#include <atomic>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/servers.h"
#include "workers/connectors/s3_chunkstore.h"
#include "workers/connectors/s3_client.h"
#include "workers/connectors/s3_sigv4.h"

#ifdef SHOEBOX_HAVE_CHUNKSTORE_CONFORMANCE
#include "tests/support/chunkstore_conformance.h"
#endif

namespace shoebox::worker {
namespace {

using testsupport::S3Server;

TEST(S3ChunkStoreLocation, ParsesCredentialsHostBucketPrefixAndOptions) {
  auto loc = ParseS3ChunkStoreLocation("s3://AK%2B1:se%2Fcret@127.0.0.1:9000/chunks/team/a?region=eu-west-1&tls=0&style=path");
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_EQ(loc->config.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(loc->config.bucket, "chunks");
  EXPECT_EQ(loc->prefix, "team/a/");
  EXPECT_EQ(loc->config.region, "eu-west-1");
  EXPECT_EQ(loc->config.credentials.access_key, "AK+1");
  EXPECT_EQ(loc->config.credentials.secret_key, "se/cret");
  EXPECT_TRUE(loc->config.path_style);
}

TEST(S3ChunkStoreLocation, DefaultsToTlsAndTakesCredentialsFromTheEnvironment) {
  setenv("SHOEBOX_S3_ACCESS_KEY_ID", "envkey", 1);
  setenv("SHOEBOX_S3_SECRET_ACCESS_KEY", "envsecret", 1);
  auto loc = ParseS3ChunkStoreLocation("s3://s3.example.com/bucket?style=virtual");
  unsetenv("SHOEBOX_S3_ACCESS_KEY_ID");
  unsetenv("SHOEBOX_S3_SECRET_ACCESS_KEY");
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_EQ(loc->config.endpoint, "https://s3.example.com");
  EXPECT_EQ(loc->config.credentials.access_key, "envkey");
  EXPECT_FALSE(loc->config.path_style);
  EXPECT_EQ(loc->prefix, "");
}

TEST(S3ChunkStoreLocation, BadLocationsSayWhatIsExpectedWithoutLeakingSecrets) {
  auto a = ParseS3ChunkStoreLocation("s3://key:topsecret@host/bucket?colour=blue");
  ASSERT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message().find("topsecret"), std::string::npos);
  EXPECT_NE(a.status().message().find("expected s3://"), std::string::npos);
  EXPECT_EQ(ParseS3ChunkStoreLocation("s3://k:s@host").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(S3ChunkStoreLocation, OpenChunkStoreKnowsTheS3SchemeOnceRegistered) {
  RegisterS3ChunkStore();
  auto s = OpenChunkStore("s3://k:s@127.0.0.1:1/bucket/p?tls=0");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Describe().find(":s@"), std::string::npos) << "Describe must not show the secret";
  EXPECT_EQ((*s)->Has(ChunkId{}).status().code(), absl::StatusCode::kUnavailable);
}

#ifdef SHOEBOX_HAVE_CHUNKSTORE_CONFORMANCE

S3Server* Server(bool moto) {
  static std::unique_ptr<S3Server> m, r;
  std::unique_ptr<S3Server>& s = moto ? m : r;
  if (!s) {
    auto started = moto ? testsupport::StartMoto("chunks") : testsupport::StartS3rver("chunks");
    if (!started.ok()) {
      ADD_FAILURE() << started.status();
      return nullptr;
    }
    s = std::move(*started);
  }
  return s.get();
}

class S3Backend : public shoebox::testing::ChunkStoreTestBackend {
 public:
  explicit S3Backend(bool moto) : moto_(moto) {
    static std::atomic<int> n{0};
    prefix_ = absl::StrCat("store", n++);
  }
  std::string Location(const std::string& secret) const {
    S3Server* s = Server(moto_);
    // Keys may contain '/' or '+': percent-encoded, as the format requires.
    return absl::StrCat("s3://", s3::UriEncode(s->access_key, false), ":", s3::UriEncode(secret, false),
                        "@127.0.0.1:", s->port, "/", s->bucket, "/", prefix_, "?tls=0");
  }
  absl::StatusOr<std::unique_ptr<ChunkStore>> Open() override {
    if (Server(moto_) == nullptr) return absl::FailedPreconditionError("server did not start");
    return OpenS3ChunkStore(Location(Server(moto_)->secret_key));
  }
  absl::Status Overwrite(const ChunkId& id, std::string_view bytes) override {
    S3Server* s = Server(moto_);
    s3::S3Config cfg;
    cfg.endpoint = s->endpoint;
    cfg.bucket = s->bucket;
    cfg.credentials = {s->access_key, s->secret_key, ""};
    ASSIGN_OR_RETURN(auto client, s3::S3Client::Create(cfg));
    std::string hex = ToHex(ByteSpan(id.data(), id.size()));
    return client->PutBytes(absl::StrCat(prefix_, "/", hex.substr(0, 2), "/", hex.substr(2)), bytes, {});
  }

 private:
  const bool moto_;
  std::string prefix_;
};

INSTANTIATE_TEST_SUITE_P(
    S3, ChunkStoreConformanceTest,
    ::testing::Values(shoebox::testing::BackendFactory("Moto", [] { return std::make_unique<S3Backend>(true); }),
                      shoebox::testing::BackendFactory("S3rver", [] { return std::make_unique<S3Backend>(false); })),
    shoebox::testing::BackendName);

TEST(S3ChunkStore, WrongSecretIsPermissionDenied) {
  S3Backend b(true);
  ASSERT_NE(Server(true), nullptr);
  auto s = OpenS3ChunkStore(b.Location("wrong-secret"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Put(ChunkId{}, "blob").code(), absl::StatusCode::kPermissionDenied);
}

#endif

}  // namespace
}  // namespace shoebox::worker
