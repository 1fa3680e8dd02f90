// Issue 17: insecure_dev is allowed on loopback only, decided by resolving
// the address, not by how it is spelled.
#include "common/loopback.h"

#include <gtest/gtest.h>

#include "common/tls_client.h"

namespace shoebox {
namespace {

TEST(LoopbackTest, LoopbackAddressesAndNames) {
  EXPECT_TRUE(IsLoopbackTarget("127.0.0.1:7443"));
  EXPECT_TRUE(IsLoopbackTarget("127.8.9.10:1"));
  EXPECT_TRUE(IsLoopbackTarget("[::1]:7443"));
  EXPECT_TRUE(IsLoopbackTarget("localhost:7443"));
  EXPECT_TRUE(IsLoopbackTarget("dns:///localhost:7443"));
  EXPECT_TRUE(IsLoopbackTarget("ipv4:127.0.0.1:1,127.0.0.2:2"));
  EXPECT_TRUE(IsLoopbackTarget("unix:/run/shoebox.sock"));
}

TEST(LoopbackTest, NamesThatOnlyLookLikeLoopbackAreNot) {
  EXPECT_FALSE(IsLoopbackTarget("127.example.net:7443"));
  EXPECT_FALSE(IsLoopbackTarget("localhost.example.net:7443"));
  EXPECT_FALSE(IsLoopbackTarget("0.0.0.0:7443"));
  EXPECT_FALSE(IsLoopbackTarget("[::]:7443"));
  EXPECT_FALSE(IsLoopbackTarget("10.1.2.3:7443"));
  EXPECT_FALSE(IsLoopbackTarget("[::ffff:10.0.0.1]:7443"));
  EXPECT_FALSE(IsLoopbackTarget("ipv4:127.0.0.1:1,10.0.0.1:2"));
  EXPECT_FALSE(IsLoopbackTarget(":7443"));
  EXPECT_FALSE(IsLoopbackTarget(""));
}

TEST(LoopbackTest, ClientRefusesPlainTextToAnotherHost) {
  grpc::ChannelArguments args;
  auto ch = MakeShoeboxChannel("127.example.net:7443", /*insecure_dev=*/true, {}, "", args);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(ch.status().message().find("loopback"), std::string::npos) << ch.status();
  EXPECT_TRUE(MakeShoeboxChannel("127.0.0.1:7443", true, {}, "", args).ok());
}

}  // namespace
}  // namespace shoebox
