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
  EXPECT_EQ(ClassifyForRetry(absl::PermissionDeniedError("x")), RetryClass::kAuth);
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
