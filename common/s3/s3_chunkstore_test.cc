// The S3 chunk store's location format (no server needed). The backend
// itself runs the chunk-store conformance suite against moto and s3rver in
// tests/workers/s3_chunkstore_test.cc.
#include "common/s3/s3_chunkstore.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace shoebox::s3 {
namespace {

TEST(S3ChunkStoreLocation, ParsesCredentialsHostBucketPrefixAndOptions) {
  auto loc = ParseS3ChunkStoreLocation(
      "s3://AK%2B1:se%2Fcret@127.0.0.1:9000/chunks/team/a?region=eu-west-1&tls=0&style=path");
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
  EXPECT_EQ(ParseS3ChunkStoreLocation("s3://k:s@host").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(S3ChunkStoreLocation, OpenChunkStoreKnowsTheS3SchemeOnceRegistered) {
  RegisterS3ChunkStore();
  auto s = OpenChunkStore("s3://k:s@127.0.0.1:1/bucket/p?tls=0");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Describe().find(":s@"), std::string::npos) << "Describe must not show the secret";
  EXPECT_EQ((*s)->Has(ChunkId{}).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace shoebox::s3
