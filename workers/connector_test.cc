#include "workers/connector.h"

#include <gtest/gtest.h>

#include <fstream>

namespace shoebox::worker {
namespace {

TEST(RetryClassification, TransientCodesAreRetryable) {
  EXPECT_EQ(ClassifyForRetry(absl::UnavailableError("x")), RetryClass::kRetryable);
  EXPECT_EQ(ClassifyForRetry(absl::DeadlineExceededError("x")), RetryClass::kRetryable);
  EXPECT_EQ(ClassifyForRetry(absl::ResourceExhaustedError("429")), RetryClass::kRetryable);
}

TEST(RetryClassification, RefusedCredentialsAreAuthFailures) {
  EXPECT_EQ(ClassifyForRetry(absl::UnauthenticatedError("x")), RetryClass::kAuth);
}

TEST(RetryClassification, ARefusalOfOneObjectIsNotAnAuthFailure) {
  EXPECT_EQ(ClassifyForRetry(absl::PermissionDeniedError("403 on a.jpg")), RetryClass::kRefused);
}

TEST(RetryClassification, QuotaAndBadSettingsArePermanent) {
  EXPECT_EQ(ClassifyForRetry(absl::FailedPreconditionError("quota")), RetryClass::kPermanent);
  EXPECT_EQ(ClassifyForRetry(absl::InvalidArgumentError("bad")), RetryClass::kPermanent);
  EXPECT_EQ(ClassifyForRetry(absl::DataLossError("corrupt chunk")), RetryClass::kPermanent);
}

TEST(RetryAfter, TravelsAsPayloadAndIsAbsentOtherwise) {
  absl::Status s = WithRetryAfter(absl::UnavailableError("slow down"), 2500);
  ASSERT_TRUE(RetryAfterMs(s).has_value());
  EXPECT_EQ(*RetryAfterMs(s), 2500u);
  EXPECT_FALSE(RetryAfterMs(absl::UnavailableError("x")).has_value());
}

TEST(Registry, BuiltInKindsAreRegisteredAndUnknownKindNamesThem) {
  auto kinds = RegisteredConnectorKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "local"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "s3"), kinds.end());
  auto c = MakeConnector("carrier-pigeon", nlohmann::json::object(), nlohmann::json::object());
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("local"), std::string::npos) << c.status();
}

TEST(Registry, S3WithoutBucketOrKeysIsRefusedWithTheMissingKey) {
  auto c = MakeConnector("s3", {{"endpoint", "http://127.0.0.1:1"}},
                         {{"access_key_id", "a"}, {"secret_access_key", "b"}});
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("bucket"), std::string::npos) << c.status();
  auto d = MakeConnector("s3", {{"bucket", "b"}}, nlohmann::json::object());
  ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("secret_access_key"), std::string::npos) << d.status();
}

// Settings are read through common/destination_kinds.h: values an older CLI
// stored as text still work, wrong ones name the key.
TEST(Registry, SettingsStoredAsTextAreReadByTheirDeclaredType) {
  auto sftp = MakeConnector(
      "sftp", {{"host", "127.0.0.1"}, {"host_key", "ssh-ed25519 AAAA"}, {"port", "45222"}},
      {{"password", "pw"}});
  ASSERT_TRUE(sftp.ok()) << sftp.status();
  EXPECT_NE((*sftp)->Describe().find("45222"), std::string::npos) << (*sftp)->Describe();
  auto local = MakeConnector("local", {{"root", "/tmp/shoebox-x"}, {"fsync", "false"}},
                             nlohmann::json::object());
  ASSERT_TRUE(local.ok()) << local.status();
  auto bad =
      MakeConnector("sftp", {{"host", "h"}, {"host_key", "ssh-ed25519 AAAA"}, {"port", "ssh"}}, {});
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("port"), std::string::npos) << bad.status();
  auto range = MakeConnector("webdav", {{"url", "http://h/dav"}, {"chunk_size_mib", 2}}, {});
  ASSERT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(range.status().message().find("5..1024"), std::string::npos) << range.status();
}

TEST(Sources, StringSourceReadsSeeksAndEnds) {
  auto s = MakeStringSource("hello world");
  uint8_t buf[5];
  EXPECT_EQ(*s->Read(buf, 5), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 5), "hello");
  ASSERT_TRUE(s->Seek(6).ok());
  EXPECT_EQ(*s->Read(buf, 5), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 5), "world");
  EXPECT_EQ(*s->Read(buf, 5), 0u);
  EXPECT_FALSE(s->Seek(12).ok());
}

TEST(Sources, FileSourceReadsTheFile) {
  std::string p = ::testing::TempDir() + "/file_source_test.bin";
  std::ofstream(p) << "0123456789";
  auto s = MakeFileSource(p);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->size(), 10u);
  uint8_t buf[16];
  ASSERT_TRUE((*s)->Seek(4).ok());
  EXPECT_EQ(*(*s)->Read(buf, 16), 6u);
  EXPECT_EQ(MakeFileSource(p + ".missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace shoebox::worker
